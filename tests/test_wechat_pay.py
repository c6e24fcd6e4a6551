"""WeChat Pay as a payment method, end to end over real HTTP against its sandbox: the cashier, the
signed and encrypted notification, the job adding the data, and query, close, refund, refund query
and the day's bill through the payment interface."""

import re
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import csrf_token, load_order, make_order, run_jobs
from sqlalchemy import select

from extensions import db
from gateways import providers, wechat_client
from gateways.payment_methods import BillNotReady, GatewayError
from models import Order, PaymentNotification, Refund, utcnow
from rules.payments import payment_events
from sandbox import deliveries
from sandbox.models import SandboxWechatTrade


class InApp:
    """The WeChat Pay provider, each call in its own app context (as a job makes it); none is held
    between calls, so the test client's requests keep their own."""

    def __init__(self, app) -> None:
        self.app = app

    def __getattr__(self, name):
        def call(*args, **kwargs):
            with self.app.app_context():
                return getattr(providers.provider("wechat"), name)(*args, **kwargs)

        return call


@pytest.fixture
def live(app, live_server):
    """The app on real HTTP on the compressed clock."""
    app.config["SANDBOX_TIME_SCALE"] = 0.0001
    yield app
    deliveries.stop(app)


@pytest.fixture
def wechat(app):
    return InApp(app)


def wechat_order(app, **kwargs) -> str:
    """An unpaid order to be paid with WeChat Pay (the traveller's choice, made in the test's setup)."""
    number = make_order(app, **kwargs)
    with app.app_context():
        db.session.execute(db.update(Order).where(Order.number == number).values(payment_method="wechat"))
        db.session.commit()
    return number


def open_cashier(client, number):
    """Follow /orders/<n>/pay to the sandbox WeChat Pay cashier, as the signed-in owner."""
    to_cashier = client.get(f"/orders/{number}/pay")
    assert to_cashier.status_code == 303, to_cashier.text
    url = urlsplit(to_cashier.headers["Location"])
    assert url.path == "/sandbox/wechat/cashier"
    cashier = client.get(f"{url.path}?{url.query}")
    assert cashier.status_code == 200 and "SANDBOX" in cashier.text.upper()
    return cashier


def pay_at_cashier(client, number, behaviour="normal"):
    """Press Pay; the browser's way back (WeChat's redirect_url)."""
    cashier = open_cashier(client, number)
    action = re.search(r'action="([^"]*/pay[^"]*)"', cashier.text).group(1).replace("&amp;", "&")
    response = client.post(
        action, data={"csrf_token": csrf_token(cashier.text), "behaviour": behaviour, "delay": "0", "currency": "HKD"}
    )
    assert response.status_code == 303, response.text
    return response.headers["Location"]


def wait_for(check, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def state_of(app, number):
    return load_order(app, number).state


def test_an_order_paid_with_wechat_pay_is_notified_signed_and_encrypted_and_gets_its_data(
    app, client, live, plans, sign_in, wechat
):
    sign_in()
    number = wechat_order(app)
    back = pay_at_cashier(client, number)
    assert parse_qs(urlsplit(back).query)["out_trade_no"] == [number]
    assert urlsplit(back).path == "/payments/wechat/return"
    assert wait_for(lambda: state_of(app, number) == "paid")
    with app.app_context():
        kept = db.session.scalars(select(PaymentNotification).where(PaymentNotification.out_trade_no == number)).all()
        assert [(n.provider, n.outcome) for n in kept] == [("wechat", "paid")]
        assert '"resource_type":"encrypt-resource"' in kept[0].body  # kept as it came: encrypted
    run_jobs(app)
    order = load_order(app, number)
    assert order.state == "fulfilled" and order.payment_method == "wechat"
    assert order.trade_no.startswith("42000")
    assert wait_for(lambda: _pending(app) == 0)  # answered 204: not sent again


def test_coming_back_from_the_cashier_asks_wechat_pay_when_the_notification_is_lost(
    app, client, live, plans, sign_in, wechat
):
    sign_in()
    number = wechat_order(app)
    back = urlsplit(pay_at_cashier(client, number, behaviour="drop"))
    assert state_of(app, number) == "pending_payment"
    page = client.get(f"{back.path}?{back.query}")
    assert page.status_code == 303 and page.headers["Location"].endswith(f"/orders/{number}")
    assert state_of(app, number) == "paid"  # from WeChat Pay's signed answer to the query


def test_a_return_naming_no_order_is_refused(app, client, live):
    assert client.get("/payments/wechat/return?out_trade_no=%00%0d%0a").status_code == 400
    assert client.get("/payments/wechat/return").status_code == 400


def test_query_close_refund_and_refund_query_through_the_interface(app, client, live, plans, sign_in, wechat):
    sign_in()
    unpaid, paid = wechat_order(app), wechat_order(app, plan_code="gba-7d")
    assert wechat.query(unpaid) is None  # no trade before its cashier was asked for
    open_cashier(client, unpaid)
    assert wechat.query(unpaid).trade_status == "WAIT_BUYER_PAY"
    assert wechat.close(unpaid) and wechat.close(unpaid)  # closing twice is fine
    assert wechat.query(unpaid).trade_status == "TRADE_CLOSED"
    pay_at_cashier(client, paid, behaviour="drop")
    trade = wechat.query(paid)
    total = load_order(app, paid).total_cents
    assert (trade.trade_status, trade.total_cents) == ("TRADE_SUCCESS", total) and trade.paid_at is not None
    with pytest.raises(GatewayError):
        wechat.close(paid)  # a paid trade is not closed
    assert wechat.query_refund(paid, "R1") is None
    first = wechat.refund(paid, 100, "R1", "test")
    again = wechat.refund(paid, 100, "R1", "test")
    assert (first.fund_change, again.fund_change) == (True, False)
    assert wechat.query_refund(paid, "R1") == 100
    assert wechat.query(paid).trade_status == "TRADE_SUCCESS"  # REFUND: it was paid
    with pytest.raises(GatewayError):
        wechat.refund(paid, total, "R2", "more than is left")


def test_the_day_bill_lists_payments_and_refunds_and_is_not_ready_before_the_day_ends(
    app, client, live, plans, sign_in, wechat
):
    sign_in()
    number = wechat_order(app)
    pay_at_cashier(client, number, behaviour="drop")
    wechat.refund(number, 50, "R-bill", "test")
    today = (utcnow() + timedelta(hours=8)).date()
    with pytest.raises(BillNotReady):
        wechat.day_bill(today)
    app.config["ALIPAY_SANDBOX_BILL_DELAY_HOURS"] = -24  # the sandbox's bill of today is ready now
    lines = wechat.day_bill(today)
    total = load_order(app, number).total_cents
    assert [(line.kind, line.out_trade_no, line.amount_cents, line.refund_no) for line in lines] == [
        ("payment", number, total, None),
        ("refund", number, 50, "R-bill"),
    ]


def test_cancelling_closes_the_wechat_trade_and_a_payment_after_it_is_refunded_through_wechat_pay(
    app, client, live, plans, sign_in, wechat
):
    sign_in()
    number = wechat_order(app)
    cashier = open_cashier(client, number)  # the traveller keeps this tab open
    with app.app_context():
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        assert payment_events.cancel_by_traveller(order) == payment_events.CancelOutcome.CANCELLED
        trade = db.session.scalars(select(SandboxWechatTrade).where(SandboxWechatTrade.out_trade_no == number)).one()
        assert trade.state == "CLOSED"
        # WeChat Pay took the money anyway (its cashier was open): the sandbox pays the closed trade.
        trade.state = "NOTPAY"
        db.session.commit()
    action = re.search(r'action="([^"]*/pay[^"]*)"', cashier.text).group(1).replace("&amp;", "&")
    client.post(action, data={"csrf_token": csrf_token(cashier.text), "behaviour": "normal", "delay": "0"})
    assert wait_for(lambda: _refund_of(app, number) is not None)
    run_jobs(app)
    refund = _refund_of(app, number)
    assert refund.status == "done", refund.last_error
    assert wechat.query_refund(number, refund.out_request_no) == load_order(app, number).total_cents
    assert state_of(app, number) == "cancelled"


def _pending(app):
    with app.app_context():
        return deliveries.pending()


def _refund_of(app, number):
    with app.app_context():
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        refund = db.session.scalars(select(Refund).where(Refund.order_id == order.id)).first()
        db.session.expunge_all()
        return refund


def test_the_global_api_is_the_default_for_a_hong_kong_merchant(app):
    assert app.config["WECHATPAY_API"] == "global" and app.config["WECHATPAY_CURRENCY"] == "HKD"
    assert app.config["WECHATPAY_HOST"] == "https://apihk.mch.weixin.qq.com"
    with app.app_context():
        assert wechat_client.settings().paths["h5"] == "/v3/global/transactions/h5"


def test_inside_wechats_own_browser_the_traveller_is_told_to_open_the_page_in_the_phones_browser(
    app, client, live, plans, sign_in
):
    sign_in()
    number = wechat_order(app)
    in_wechat = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.50 NetType/WIFI"
    sent = client.get(f"/orders/{number}/pay", headers={"User-Agent": in_wechat})
    assert sent.status_code == 303 and sent.location.endswith(f"/orders/{number}")  # back, not to WeChat Pay
    assert "Open in Browser" in client.get(sent.location).text
    assert state_of(app, number) == "pending_payment"
    in_browser = client.get(f"/orders/{number}/pay")  # in the phone's browser it opens
    assert in_browser.status_code == 303 and "/sandbox/wechat/" in in_browser.location


def test_a_payment_that_cannot_start_is_said_in_words_not_a_500(app, client, live, plans, sign_in):
    sign_in()
    number = wechat_order(app)
    app.config["PUBLIC_BASE_URL"] = "http://127.0.0.1:9"  # nothing listens there: WeChat Pay unreachable
    sent = client.get(f"/orders/{number}/pay")
    assert sent.status_code == 303 and sent.location.endswith(f"/orders/{number}")
    assert "We could not open the payment page just now" in client.get(sent.location).text
    assert state_of(app, number) == "pending_payment"


def test_the_mainland_api_family_is_a_setting_and_works_end_to_end(app_with, client, plans, sign_in):
    """WECHATPAY_API=mainland: /v3/pay/... and /v3/refund/domestic/..., here with HKD kept as the order's currency."""
    app = app_with(WECHATPAY_API="mainland", WECHATPAY_CURRENCY="HKD", SANDBOX_TIME_SCALE=0.0001)
    from conftest import _serve

    served = _serve(app, with_worker=False)
    next(served)
    try:
        the_client = app.test_client()
        sign_in(the_client=the_client)
        number = wechat_order(app)
        wechat = InApp(app)
        with app.app_context():
            assert wechat_client.settings().paths["refund"] == "/v3/refund/domestic/refunds"
        pay_at_cashier(the_client, number, behaviour="drop")
        assert wechat.query(number).trade_status == "TRADE_SUCCESS"
        assert wechat.refund(number, 100, "R-mainland", "test").fund_change
        assert wechat.query_refund(number, "R-mainland") == 100
    finally:
        deliveries.stop(app)
        next(served, None)
