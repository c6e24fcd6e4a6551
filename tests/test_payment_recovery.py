"""When the notification is lost or late: the return page and the jobs ask the gateway itself.
Runs against the sandbox gateway over real HTTP, with the SDK signing and verifying."""

import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from conftest import csrf_token, load_order, make_order
from sqlalchemy import select

import jobs
from extensions import db
from models import Order, Promotion
from rules.ordering import receipts
from sandbox import alipay_signer
from sandbox.models import SandboxTrade


def open_cashier(client, number):
    """Follow /orders/<number>/pay to the sandbox cashier page, as the signed-in owner."""
    to_gateway = client.get(f"/orders/{number}/pay")
    assert to_gateway.status_code == 303, to_gateway.text
    url = urlsplit(to_gateway.headers["Location"])
    assert url.path == "/sandbox/alipay/gateway.do"
    cashier = client.get(f"{url.path}?{url.query}")
    assert cashier.status_code == 200 and "SANDBOX" in cashier.text.upper()
    return cashier


def pay_at_cashier(client, number, behaviour):
    cashier = open_cashier(client, number)
    trade_no = cashier.text.split("/sandbox/alipay/trades/")[1].split("/pay")[0]
    response = client.post(
        f"/sandbox/alipay/trades/{trade_no}/pay",
        data={"csrf_token": csrf_token(cashier.text), "behaviour": behaviour, "delay": "0"},
    )
    assert response.status_code == 303
    return response.headers["Location"]


def age(app, number, **by):
    """Move an order's clock back, as if it had been waiting that long."""
    with app.app_context():
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        order.created_at -= timedelta(**by)
        order.pay_by -= timedelta(**by)
        db.session.commit()


def run_jobs(app):
    with app.app_context():  # as `flask jobs run` does: no request
        return jobs.run_once()


def test_a_lost_notification_is_recovered_by_the_query_job(app, client, live_server, sign_in):
    sign_in()
    number = make_order(app)
    pay_at_cashier(client, number, "drop")
    assert load_order(app, number).state == "pending_payment"
    age(app, number, minutes=1)
    assert run_jobs(app)["queried"] == 1
    order = load_order(app, number)
    assert order.state == "fulfilled" and order.transitions[1].cause == "query_job"


def test_return_before_the_notification_asks_the_gateway_and_shows_the_live_state(app, client, live_server, sign_in):
    sign_in()
    number = make_order(app)
    back = urlsplit(pay_at_cashier(client, number, "drop"))
    response = client.get(f"{back.path}?{back.query}")
    assert response.status_code == 303 and response.headers["Location"] == f"/orders/{number}"
    order = load_order(app, number)
    assert order.state == "paid" and order.transitions[1].cause == "return_page"  # the worker adds the data
    page = client.get(f"/orders/{number}", headers={"HX-Request": "true", "HX-Target": "order-state"})
    assert "hx-trigger" in page.text  # paid, data being added: the page keeps polling
    assert run_jobs(app)["fulfilled"] == 1
    page = client.get(f"/orders/{number}", headers={"HX-Request": "true", "HX-Target": "order-state"})
    assert "hx-trigger" not in page.text and "View receipt" in page.text  # final: polling stops


def test_a_signed_return_alone_never_marks_an_order_paid(app, client, live_server, sign_in):
    sign_in()
    number = make_order(app)
    open_cashier(client, number)  # the trade exists at the gateway, unpaid
    with app.app_context():
        trade = db.session.scalars(select(SandboxTrade)).one()
        forged_but_signed = alipay_signer.sign_as_alipay(
            {
                "out_trade_no": number,
                "trade_no": trade.trade_no,
                "total_amount": trade.total_amount,
                "app_id": app.config["ALIPAY_APP_ID"],
                "method": "alipay.trade.wap.pay.return",
            }
        )
    assert client.get("/payments/alipay/return", query_string=forged_but_signed).status_code == 303
    assert load_order(app, number).state == "pending_payment"
    page = client.get(f"/orders/{number}", headers={"HX-Request": "true", "HX-Target": "order-state"})
    assert 'hx-trigger="load delay:2s"' in page.text  # still polling


def test_a_return_with_a_bad_signature_is_refused(app, client, live_server, sign_in):
    sign_in()
    number = make_order(app)
    response = client.get(
        "/payments/alipay/return",
        query_string={
            "out_trade_no": number,
            "trade_no": "1",
            "total_amount": "58.00",
            "sign": "Zm9yZ2Vk",
            "sign_type": "RSA2",
        },
    )
    assert response.status_code == 400 and "did not check out" in response.text
    assert load_order(app, number).state == "pending_payment"


def test_the_expiry_job_closes_the_trade_and_releases_the_promo_code(app, client, live_server, sign_in):
    sign_in()
    number = make_order(app, promo="WELCOME10")
    open_cashier(client, number)
    with app.app_context():
        assert db.session.scalars(select(Promotion)).one().uses_reserved == 1
    age(app, number, minutes=20)
    assert run_jobs(app)["expired"] == 1
    order = load_order(app, number)
    assert order.state == "expired" and order.pending_key is None
    with app.app_context():
        assert db.session.scalars(select(SandboxTrade)).one().status == "TRADE_CLOSED"
        assert db.session.scalars(select(Promotion)).one().uses_reserved == 0
    assert run_jobs(app)["expired"] == 0  # nothing left to do: the job is idempotent


def test_an_order_paid_just_before_expiry_is_paid_not_expired(app, client, live_server, sign_in):
    sign_in()
    number = make_order(app)
    pay_at_cashier(client, number, "drop")
    age(app, number, minutes=20)
    run_jobs(app)
    assert load_order(app, number).state == "fulfilled"


def test_the_sandbox_notification_is_delivered_over_http(app, client, live_server, sign_in):
    sign_in()
    number = make_order(app)
    pay_at_cashier(client, number, "repeat")
    deadline = time.monotonic() + 10
    while load_order(app, number).state != "paid" and time.monotonic() < deadline:
        time.sleep(0.1)
    run_jobs(app)  # the notification recorded the payment; the worker adds the data
    order = load_order(app, number)
    assert order.state == "fulfilled" and order.transitions[1].cause == "notification"


def test_a_carrier_outage_leaves_the_order_paid_and_the_job_adds_the_data_later(app, client, live_server, sign_in):
    sign_in()
    number = make_order(app)
    app.config["CARRIER_DOWN"] = True
    back = urlsplit(pay_at_cashier(client, number, "drop"))
    client.get(f"{back.path}?{back.query}")
    assert load_order(app, number).state == "paid"
    app.config["CARRIER_DOWN"] = False
    with app.app_context():
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        order.next_check_at = None  # the retry is due
        db.session.commit()
    assert run_jobs(app)["fulfilled"] == 1
    assert load_order(app, number).state == "fulfilled"


@pytest.mark.parametrize("path", ["/orders/{n}", "/orders/{n}/receipt", "/orders/{n}/pay"])
def test_another_account_gets_404_for_an_order_and_its_receipt(app, client, live_server, sign_in, path):
    sign_in()
    number = make_order(app)
    back = urlsplit(pay_at_cashier(client, number, "drop"))
    client.get(f"{back.path}?{back.query}")
    assert client.get(path.format(n=number)).status_code in (200, 302)  # paid: /pay goes to the order
    stranger = app.test_client()
    sign_in("+85298765432", the_client=stranger)
    assert stranger.get(path.format(n=number)).status_code == 404


def test_the_receipt_has_everything_and_its_qr_code_verifies_it(app, client, live_server, sign_in):
    sign_in()
    number = make_order(app)
    back = urlsplit(pay_at_cashier(client, number, "drop"))
    client.get(f"{back.path}?{back.query}")
    receipt = client.get(f"/orders/{number}/receipt")
    order = load_order(app, number)
    for shown in (number, "+852 6123 4567", "Greater Bay 3-Day", "HK$58.00", order.trade_no, "Alipay", "<svg"):
        assert shown in receipt.text, shown  # the card's whole number: this account's own card
    with app.test_request_context():
        url = urlsplit(receipts.verification_url(load_order(app, number)))
    assert url.netloc == urlsplit(live_server).netloc
    public = app.test_client().get(url.path)
    assert public.status_code == 200 and "Genuine" in public.text and "4567" not in public.text
    assert app.test_client().get(f"/receipts/{number}/{'0' * 24}").status_code == 404


def test_a_traveller_cancels_an_unpaid_order_and_its_trade_is_closed(app, client, live_server, sign_in):
    sign_in()
    number = make_order(app, promo="WELCOME10")
    page = open_cashier(client, number)
    status_page = client.get(f"/orders/{number}")
    response = client.post(f"/orders/{number}/cancel", data={"csrf_token": csrf_token(status_page.text)})
    assert response.status_code == 303
    order = load_order(app, number)
    assert order.state == "cancelled" and order.transitions[-1].cause == "traveller"
    with app.app_context():
        assert db.session.scalars(select(SandboxTrade)).one().status == "TRADE_CLOSED"
        assert db.session.scalars(select(Promotion)).one().uses_reserved == 0
    trade_no = page.text.split("/sandbox/alipay/trades/")[1].split("/pay")[0]
    paid_late = client.post(
        f"/sandbox/alipay/trades/{trade_no}/pay",
        data={"csrf_token": csrf_token(page.text), "behaviour": "normal", "delay": "0"},
    )
    assert paid_late.status_code == 409  # the cashier cannot take money for a closed trade


def test_cancelling_an_order_that_was_paid_meanwhile_keeps_it_paid(app, client, live_server, sign_in):
    sign_in()
    number = make_order(app)
    pay_at_cashier(client, number, "drop")
    status_page = client.get(f"/orders/{number}")
    client.post(f"/orders/{number}/cancel", data={"csrf_token": csrf_token(status_page.text)})
    assert load_order(app, number).state == "paid"  # found paid: not cancelled; the worker adds the data
    run_jobs(app)
    assert load_order(app, number).state == "fulfilled"


def test_the_order_list_shows_the_travellers_orders_only(app, client, live_server, sign_in):
    sign_in()
    mine = make_order(app)
    theirs = make_order(app, phone="+85298765432", msisdn="+85261110000")
    page = client.get("/orders")
    assert mine in page.text and theirs not in page.text and "Waiting for payment" in page.text
