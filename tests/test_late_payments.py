"""A payment that reaches an order which can no longer take it is refunded, once, and said so.

The hole: a traveller keeps the signed cashier URL without opening it, cancels the order (the
gateway has no trade yet, so closing it finds nothing), then opens the kept URL and pays. Runs
against the sandbox gateway over real HTTP, with the SDK signing and verifying.
"""

import time
from urllib.parse import urlsplit

from conftest import csrf_token, load_order, make_order
from sqlalchemy import select

from extensions import db
from models import Refund, SandboxTrade, SmsMessage

WAIT_SECONDS = 10


def kept_cashier_url(client, number) -> str:
    """The signed cashier URL /orders/<number>/pay sends the browser to, not opened."""
    to_gateway = client.get(f"/orders/{number}/pay")
    assert to_gateway.status_code == 303, to_gateway.text
    url = urlsplit(to_gateway.headers["Location"])
    assert url.path == "/sandbox/alipay/gateway.do"
    return f"{url.path}?{url.query}"


def cancel(client, number):
    status_page = client.get(f"/orders/{number}")
    return client.post(f"/orders/{number}/cancel", data={"csrf_token": csrf_token(status_page.text)})


def pay_kept_url(client, url, behaviour="normal"):
    cashier = client.get(url)
    assert cashier.status_code == 200, cashier.text
    trade_no = cashier.text.split("/sandbox/alipay/trades/")[1].split("/pay")[0]
    return client.post(
        f"/sandbox/alipay/trades/{trade_no}/pay",
        data={"csrf_token": csrf_token(cashier.text), "behaviour": behaviour, "delay": "0"},
    )


def wait_for(check, seconds=WAIT_SECONDS):
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.05)
    return check()


def refunds_of(app, number):
    with app.app_context():
        rows = db.session.scalars(select(Refund).join(Refund.order).where(Refund.order.has(number=number))).all()
        db.session.expunge_all()
        return rows


def sandbox_trade(app, number):
    with app.app_context():
        trade = db.session.scalars(select(SandboxTrade).where(SandboxTrade.out_trade_no == number)).one()
        db.session.expunge(trade)
        return trade


def sms_about(app, purpose_prefix="refund"):
    with app.app_context():
        return [
            m.body
            for m in db.session.scalars(
                select(SmsMessage).where(SmsMessage.purpose.startswith(purpose_prefix)).order_by(SmsMessage.id)
            )
        ]


def test_paying_a_kept_cashier_url_after_cancelling_is_refunded_in_full(app, client, live_server, sign_in):
    sign_in()
    number = make_order(app)
    url = kept_cashier_url(client, number)
    cancelled = cancel(client, number)
    assert cancelled.status_code == 303
    assert load_order(app, number).state == "cancelled"
    flash = client.get(f"/orders/{number}").text
    assert "Nothing was charged" not in flash  # a kept URL can still create a trade

    paid = pay_kept_url(client, url)
    assert paid.status_code == 303  # the gateway took the money: the hole is the merchant's to close

    assert wait_for(lambda: [r.status for r in refunds_of(app, number)] == ["done"]), refunds_of(app, number)
    (refund,) = refunds_of(app, number)
    trade = sandbox_trade(app, number)
    assert (refund.reason, refund.trade_no, refund.amount_cents) == ("paid_after_cancel", trade.trade_no, 5800)
    assert trade.refunded_amount_cents == 5800 and trade.status == "TRADE_CLOSED"
    assert trade.refund_requests == refund.out_request_no
    assert load_order(app, number).state == "cancelled"

    page = client.get(f"/orders/{number}").text
    assert "Paid after cancelling: refunded HK$58.00" in page and "Nothing was charged" not in page
    assert wait_for(lambda: len(sms_about(app)) == 1)
    (body,) = sms_about(app)
    assert number in body and "HK$58.00" in body and "refunded" in body
