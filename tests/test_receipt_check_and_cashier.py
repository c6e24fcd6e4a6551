"""The public receipt check says what was bought and paid (no personal data); the sandbox cashier, opened
again after paying, says the order is paid and leads back to the merchant instead of offering Pay again."""

import re
from urllib.parse import urlsplit

from conftest import csrf_token, load_order, make_order
from sqlalchemy import update

from extensions import db
from models import Order
from rules.ordering import receipts
from rules.text.formatting import hk_time


def cashier_url(client, number):
    to_gateway = client.get(f"/orders/{number}/pay")
    assert to_gateway.status_code == 303, to_gateway.text
    url = urlsplit(to_gateway.headers["Location"])
    return f"{url.path}?{url.query}"


def pay(client, cashier):
    trade_no = re.search(r"/sandbox/alipay/trades/(\d+)/pay", cashier.text).group(1)
    response = client.post(
        f"/sandbox/alipay/trades/{trade_no}/pay",
        data={"csrf_token": csrf_token(cashier.text), "behaviour": "drop", "delay": "0", "currency": "HKD"},
    )
    assert response.status_code == 303
    return response.headers["Location"]


def paid_order(app, client, sign_in, **order):
    sign_in()
    number = make_order(app, **order)
    url = cashier_url(client, number)
    back = urlsplit(pay(client, client.get(url)))
    client.get(f"{back.path}?{back.query}")  # the return page asks the gateway: paid
    return number, url


def test_the_public_receipt_check_shows_plan_amount_and_date_and_nothing_personal(app, client, live_server, sign_in):
    number, _ = paid_order(app, client, sign_in, plan_code="gba-7d", promo="WELCOME10")
    order = load_order(app, number)
    with app.test_request_context():
        path = urlsplit(receipts.verification_url(order)).path
    page = app.test_client().get(path)  # anyone with the QR code, signed in or not
    assert page.status_code == 200 and "Genuine" in page.text
    for shown in (number, "Greater Bay 7-Day", "HK$70.20", hk_time(order.paid_at)):
        assert shown in page.text, shown
    for private in ("4567", "+852", order.trade_no, "WELCOME10"):
        assert private not in page.text, private


def test_a_receipt_check_in_chinese_names_the_plan_in_chinese(app, client, live_server, sign_in):
    number, _ = paid_order(app, client, sign_in)
    with app.test_request_context():
        path = urlsplit(receipts.verification_url(load_order(app, number))).path
    page = app.test_client().get(path, headers={"Accept-Language": "zh-HK"})
    assert "大灣區3日" in page.text and "HK$58.00" in page.text


def test_the_cashier_opened_again_after_paying_says_paid_and_links_back_to_the_merchant(
    app, client, live_server, sign_in
):
    number, url = paid_order(app, client, sign_in)
    again = client.get(url)  # what Back, or a second tab, opens
    assert again.status_code == 200
    assert "This order is already paid" in again.text
    assert "/trades/" not in again.text and "Pay HK$" not in again.text  # no Pay button
    back = re.search(r'href="([^"]*/payments/alipay/return\?[^"]+)"', again.text)
    assert back, again.text
    assert f"out_trade_no={number}" in back.group(1).replace("&amp;", "&")
    assert again.headers["Cache-Control"] == "no-store"  # Back asks again instead of showing a kept copy


def test_a_closed_unpaid_trade_cannot_be_paid_and_does_not_claim_to_be_paid(app, client, live_server, sign_in):
    sign_in()
    number = make_order(app)
    url = cashier_url(client, number)
    client.get(url)
    from sandbox.models import SandboxTrade

    with app.app_context():
        db.session.execute(update(SandboxTrade).values(status="TRADE_CLOSED"))
        db.session.execute(update(Order).where(Order.number == number).values(state="cancelled"))
        db.session.commit()
    page = client.get(url)
    assert "can no longer be paid" in page.text and "already paid" not in page.text
