"""The traveller chooses how to pay on the review page (signed in, and in the top-up without signing
in); the order keeps the method through pay, cancel, expiry, queries, receipt and SMS.

WeChat Pay and cards are fakes here (MemoryPay registered as "wechat" and "stripe" for each test), so
the tests mean the same once the real implementations are registered under those names.
"""

import re
from datetime import timedelta

import pytest
from conftest import csrf_token, last_sms, load_order, run_jobs
from sqlalchemy import func, select
from test_checkout import PHONE, add_card, order_count
from test_guest_topup import add_card as add_guest_card
from test_guest_topup import show_card
from test_payment_methods import MemoryPay, paid_trade

import jobs
from extensions import db
from gateways import providers
from models import Account, GatewayCall, Order, Refund, utcnow
from rules.payments import payment_events

THREE = ("alipay", "wechat", "stripe")
WECHAT_BROWSER = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"
)
IN_WECHAT = {"User-Agent": WECHAT_BROWSER}
WECHAT_ADVICE = "WeChat Pay cannot open inside WeChat. Tap ··· at the top right and choose Open in Browser"


@pytest.fixture
def app(app_with):
    return app_with(PAYMENT_METHODS=THREE)


@pytest.fixture
def fakes(monkeypatch) -> dict[str, MemoryPay]:
    made = {}
    for name in ("wechat", "stripe"):
        made[name] = MemoryPay()
        made[name].name = name
        monkeypatch.setitem(providers.PROVIDERS, name, made[name])
    return made


@pytest.fixture
def card_id(app, client, plans, sign_in, fakes) -> int:
    sign_in(PHONE)
    return add_card(app, nickname="Mum")


def review(client, card_id, headers=None):
    return client.get(f"/checkout?plan=gba-3d&card={card_id}", headers=headers or {})


def checked_method(html: str) -> str | None:
    found = re.search(r'name="payment_method" value="(\w+)" form="confirm-payment" checked', html)
    return found.group(1) if found else None


def confirm(client, card_id, method: str | None, headers=None):
    page = review(client, card_id, headers)
    data = {"csrf_token": csrf_token(page.text), "plan": "gba-3d", "card": card_id}
    if method is not None:
        data["payment_method"] = method
    return client.post("/checkout/confirm", data=data, headers=headers or {})


def only_order(app) -> Order:
    with app.app_context():
        return db.session.scalars(select(Order)).one()


def account_method(app) -> str | None:
    with app.app_context():
        return db.session.scalar(select(Account.payment_method).where(Account.phone == PHONE))


# --- the choice on the review page -----------------------------------------------------------------


def test_the_review_page_offers_the_three_methods_by_name_with_the_first_chosen(client, card_id):
    page = review(client, card_id)
    assert page.status_code == 200
    assert "<legend>Pay with</legend>" in page.text
    for name in ("Alipay", "WeChat Pay", "Credit or debit card"):
        assert f"<strong>{name}</strong>" in page.text
    assert checked_method(page.text) == "alipay"
    assert page.text.count('name="payment_method"') == 3


def test_only_the_methods_the_setting_enables_are_offered(app_with, client, plans, sign_in, fakes):
    app = app_with(PAYMENT_METHODS=("stripe", "alipay"))
    client = app.test_client()
    sign_in(PHONE, client)
    page = review(client, add_card(app))
    assert "WeChat Pay" not in page.text and checked_method(page.text) == "stripe"
    refused = confirm(client, add_card(app, n=2), "wechat")
    assert refused.status_code == 422 and "Choose one of the ways to pay shown on this page." in refused.text
    assert order_count(app) == 0


def test_confirm_records_the_method_on_the_order_and_the_account_and_pay_goes_to_its_cashier(
    app, client, card_id, fakes
):
    response = confirm(client, card_id, "wechat")
    assert response.status_code == 303
    order = only_order(app)
    assert (order.payment_method, account_method(app)) == ("wechat", "wechat")
    to_cashier = client.get(response.headers["Location"])
    assert (to_cashier.status_code, to_cashier.headers["Location"]) == (303, f"https://pay.example/{order.number}")
    assert fakes["wechat"].calls == [("start_payment", order.number)]
    assert fakes["stripe"].calls == []


def test_the_accounts_last_choice_is_chosen_first_next_time(app, client, card_id):
    assert confirm(client, card_id, "stripe").status_code == 303
    assert checked_method(review(client, card_id).text) == "stripe"  # the unpaid order's method
    other_card = add_card(app, n=2)
    assert checked_method(review(client, other_card).text) == "stripe"  # the account's


def test_confirming_again_with_another_method_changes_the_unpaid_order_not_a_new_one(app, client, card_id):
    confirm(client, card_id, "wechat")
    number = only_order(app).number
    assert confirm(client, card_id, "stripe").status_code == 303
    order = only_order(app)
    assert (order.number, order.payment_method, account_method(app)) == (number, "stripe", "stripe")


def test_confirm_with_htmx_records_the_method_too(app, client, card_id):
    response = confirm(client, card_id, "stripe", headers={"HX-Request": "true"})
    assert response.status_code == 204 and response.headers["HX-Redirect"].startswith("/orders/")
    assert only_order(app).payment_method == "stripe"


def test_a_form_without_a_method_pays_with_the_method_the_page_chose(app, client, card_id):
    assert confirm(client, card_id, None).status_code == 303
    assert only_order(app).payment_method == "alipay"
    confirm(client, card_id, "stripe")
    assert confirm(client, add_card(app, n=2), None).status_code == 303  # the account's last choice
    with app.app_context():
        assert db.session.scalars(select(Order.payment_method).order_by(Order.id)).all() == ["stripe", "stripe"]


def test_a_change_of_start_keeps_the_method_just_picked(client, card_id):
    # The start form sends the pick along (hx-include; tests/test_journey_payment_choice.py clicks it).
    again = client.get(f"/checkout?plan=gba-3d&card={card_id}&start=now&payment_method=wechat")
    assert checked_method(again.text) == "wechat"
    forged = client.get(f"/checkout?plan=gba-3d&card={card_id}&payment_method=paypal")
    assert forged.status_code == 200 and checked_method(forged.text) == "alipay"
    in_wechat = client.get(f"/checkout?plan=gba-3d&card={card_id}&payment_method=wechat", headers=IN_WECHAT)
    assert checked_method(in_wechat.text) == "alipay"


@pytest.mark.parametrize(
    "forged",
    ["paypal", "counter:cash", "alipay\x00", "ｗechat", "wechat\r\nX: y", "WECHAT", "a" * 5000, "微信"],
)
def test_a_forged_method_is_refused_with_a_message_and_changes_nothing(app, client, card_id, forged):
    response = confirm(client, card_id, forged)
    assert response.status_code in (400, 422)  # NUL and CR/LF: refused by the site's request guard first
    if response.status_code == 422:
        assert "Choose one of the ways to pay shown on this page." in response.text
    assert order_count(app) == 0 and account_method(app) is None


def test_a_promo_code_swap_keeps_the_method_choice_outside_the_swapped_summary(client, card_id):
    page = review(client, card_id)
    swapped = client.post(
        "/checkout/promo",
        data={"csrf_token": csrf_token(page.text), "plan": "gba-3d", "card": card_id, "promo_code": ""},
        headers={"HX-Request": "true", "HX-Target": "checkout-summary"},
    )
    assert swapped.status_code == 200 and 'id="confirm-payment"' in swapped.text
    assert 'name="payment_method"' not in swapped.text  # the radios stay as the traveller left them


# --- WeChat's own browser ----------------------------------------------------------------------------


def test_inside_wechat_the_page_says_what_to_do_and_wechat_pay_cannot_be_chosen(app, client, card_id):
    page = review(client, card_id, IN_WECHAT)
    assert WECHAT_ADVICE in page.text
    assert re.search(r'value="wechat" form="confirm-payment" disabled', page.text)
    assert checked_method(page.text) == "alipay"
    refused = confirm(client, card_id, "wechat", IN_WECHAT)
    assert refused.status_code == 422 and WECHAT_ADVICE in refused.text
    assert order_count(app) == 0


def test_inside_wechat_the_last_choice_wechat_gives_way_to_the_next_method(app, client, card_id):
    confirm(client, card_id, "wechat")
    assert checked_method(review(client, add_card(app, n=2), IN_WECHAT).text) == "alipay"


def test_a_wechat_pay_order_opened_inside_wechat_is_not_sent_to_its_cashier(app, client, card_id, fakes):
    confirm(client, card_id, "wechat")
    number = only_order(app).number
    response = client.get(f"/orders/{number}/pay", headers=IN_WECHAT)
    assert (response.status_code, response.headers["Location"]) == (303, f"/orders/{number}")
    assert fakes["wechat"].calls == []
    assert WECHAT_ADVICE in client.get(f"/orders/{number}", headers=IN_WECHAT).text


def test_a_cashier_that_cannot_be_opened_is_said_in_words_not_a_500(app, client, card_id, fakes, monkeypatch):
    from gateways.payment_methods import GatewayError

    def down(*args, **kwargs):
        raise GatewayError("timed out")

    monkeypatch.setattr(fakes["stripe"], "start_payment", down)
    confirm(client, card_id, "stripe")
    number = only_order(app).number
    response = client.get(f"/orders/{number}/pay")
    assert (response.status_code, response.headers["Location"]) == (303, f"/orders/{number}")
    assert "We could not open the payment page just now." in client.get(f"/orders/{number}").text


# --- the top-up without signing in ----------------------------------------------------------------------


def test_the_guest_top_up_offers_the_same_methods_and_remembers_the_choice_in_its_session(app, client, plans, fakes):
    add_guest_card(app)
    assert show_card(client).status_code == 303
    page = client.get("/top-up/review?plan=gba-3d")
    assert checked_method(page.text) == "alipay" and page.text.count('name="payment_method"') == 3
    data = {"csrf_token": csrf_token(page.text), "plan": "gba-3d", "payment_method": "stripe"}
    response = client.post("/top-up/confirm", data=data)
    assert response.status_code == 303
    order = only_order(app)
    assert (order.account_id, order.payment_method) == (None, "stripe")
    to_cashier = client.get(response.headers["Location"])
    assert to_cashier.headers["Location"] == f"https://pay.example/{order.number}"
    assert checked_method(client.get("/top-up/review?plan=gba-7d").text) == "stripe"
    forged = client.post("/top-up/confirm", data={**data, "payment_method": "bitcoin"})
    assert forged.status_code == 422 and only_order(app).payment_method == "stripe"
    with app.app_context():
        assert (
            db.session.scalar(select(func.count()).select_from(Account).where(Account.payment_method.isnot(None))) == 0
        )


# --- cancel, expiry and queries: every cashier the order was sent to ----------------------------------------


def sent_to_both(app, client, card_id) -> str:
    """An order confirmed with WeChat Pay and its cashier opened, then confirmed with a card and opened."""
    confirm(client, card_id, "wechat")
    number = only_order(app).number
    client.get(f"/orders/{number}/pay")
    confirm(client, card_id, "stripe")
    client.get(f"/orders/{number}/pay")
    assert only_order(app).payment_method == "stripe"
    return number


def test_each_cashier_opened_is_recorded_once_with_its_provider(app, client, card_id):
    number = sent_to_both(app, client, card_id)
    client.get(f"/orders/{number}/pay")  # opened again: nothing new to know
    with app.app_context():
        rows = db.session.execute(select(GatewayCall.provider, GatewayCall.api).order_by(GatewayCall.id)).all()
    assert [tuple(row) for row in rows] == [("wechat", "trade.start"), ("stripe", "trade.start")]


def test_a_cancel_closes_the_trade_at_every_cashier_the_order_was_sent_to(app, client, card_id, fakes):
    number = sent_to_both(app, client, card_id)
    status = client.get(f"/orders/{number}?cancel=1")
    client.post(f"/orders/{number}/cancel", data={"csrf_token": csrf_token(status.text)})
    assert load_order(app, number).state == "cancelled"
    for name in ("wechat", "stripe"):
        assert ("close", number) in fakes[name].calls, name


def test_a_payment_found_at_the_first_cashier_on_cancel_pays_the_order_with_that_method(app, client, card_id, fakes):
    number = sent_to_both(app, client, card_id)
    fakes["wechat"].trades[number] = paid_trade(app, number, "WX-1")  # paid there, notification lost
    status = client.get(f"/orders/{number}?cancel=1")
    client.post(f"/orders/{number}/cancel", data={"csrf_token": csrf_token(status.text)})
    order = load_order(app, number)
    assert order.state in ("paid", "fulfilled") and (order.trade_no, order.payment_method) == ("WX-1", "wechat")
    assert ("close", number) not in fakes["wechat"].calls


def expire_now(app) -> None:
    with app.app_context():
        db.session.execute(db.update(Order).values(pay_by=utcnow() - timedelta(seconds=1)))
        db.session.commit()


def test_the_expiry_job_closes_every_cashier_and_a_payment_at_the_other_one_is_applied(app, client, card_id, fakes):
    number = sent_to_both(app, client, card_id)
    expire_now(app)
    assert run_jobs(app)["expired"] == 1
    assert load_order(app, number).state == "expired"
    assert ("close", number) in fakes["wechat"].calls and ("close", number) in fakes["stripe"].calls

    # A second order, paid at the cashier it was first sent to before its time ran out.
    other = add_card(app, n=2)
    confirm(client, other, "wechat")
    paid_number = db_number_of_card(app, other)
    client.get(f"/orders/{paid_number}/pay")
    confirm(client, other, "stripe")
    fakes["wechat"].trades[paid_number] = paid_trade(app, paid_number, "WX-2")
    expire_now(app)
    run_jobs(app)
    order = load_order(app, paid_number)
    assert order.state in ("paid", "fulfilled") and order.payment_method == "wechat"


def db_number_of_card(app, card_id: int) -> str:
    with app.app_context():
        return db.session.scalars(select(Order.number).where(Order.card_id == card_id)).one()


def test_the_query_job_asks_every_cashier_and_applies_the_one_really_paid(app, client, card_id, fakes):
    number = sent_to_both(app, client, card_id)
    fakes["wechat"].trades[number] = paid_trade(app, number, "WX-3")
    with app.app_context():
        db.session.execute(db.update(Order).values(created_at=utcnow() - jobs.QUERY_AFTER - timedelta(seconds=1)))
        db.session.commit()
    assert run_jobs(app)["queried"] == 1
    order = load_order(app, number)
    assert (order.trade_no, order.payment_method) == ("WX-3", "wechat")


def test_a_notification_from_the_other_cashier_pays_the_order_with_that_method(app, client, card_id):
    number = sent_to_both(app, client, card_id)
    cents = str(only_order(app).total_cents)
    accepted = client.post(
        "/payments/wechat/notify", data={"order": number, "trade": "WX-4", "cents": cents, "signed": "yes"}
    )
    assert accepted.status_code == 200
    order = load_order(app, number)
    assert (order.state, order.trade_no, order.payment_method) in {
        ("paid", "WX-4", "wechat"),
        ("fulfilled", "WX-4", "wechat"),
    }


def test_a_payment_at_the_other_cashier_after_cancelling_is_refunded_as_a_late_payment(app, client, card_id, fakes):
    number = sent_to_both(app, client, card_id)
    status = client.get(f"/orders/{number}?cancel=1")
    client.post(f"/orders/{number}/cancel", data={"csrf_token": csrf_token(status.text)})
    fakes["wechat"].trades[number] = paid_trade(app, number, "WX-LATE")  # a kept cashier page, paid anyway
    with app.app_context():
        db.session.execute(db.update(Order).values(pay_by=utcnow() - jobs.LATE_MARGIN - timedelta(seconds=1)))
        db.session.commit()
    assert run_jobs(app)["cancelled_checked"] == 1
    with app.app_context():
        refund = db.session.scalars(select(Refund)).one()
        assert (refund.trade_no, refund.amount_cents) == ("WX-LATE", load_order(app, number).total_cents)
    assert load_order(app, number).state == "cancelled"


def test_an_order_from_before_methods_were_chosen_is_still_asked_at_alipay(app, client, card_id):
    from conftest import make_order

    number = make_order(app, msisdn="+85260000009")
    with app.app_context():
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        assert [provider.name for provider in payment_events.cashiers.sent_to(order)] == ["alipay"]


# --- the method in words: status page, receipt, SMS ----------------------------------------------------------


def test_the_status_page_receipt_and_sms_name_the_method_paid_with(app, client, card_id):
    confirm(client, card_id, "wechat")
    number = only_order(app).number
    status = client.get(f"/orders/{number}")
    assert "Pay with WeChat Pay" in status.text and "<dt>Payment method</dt><dd>WeChat Pay</dd>" in status.text
    cents = str(only_order(app).total_cents)
    client.post("/payments/wechat/notify", data={"order": number, "trade": "WX-5", "cents": cents, "signed": "yes"})
    run_jobs(app)
    receipt = client.get(f"/orders/{number}/receipt")
    assert "<dt>Paid with</dt><dd>WeChat Pay</dd>" in receipt.text
    assert f"order {number} paid, HK$" in last_sms(app, "+85260000001")
    assert " with WeChat Pay." in last_sms(app, "+85260000001")


def test_a_counter_orders_receipt_for_the_traveller_says_cash_and_no_empty_reference(app, client, plans, sign_in):
    from shops_support import make_location
    from test_counter_payments import take_payment

    sign_in(PHONE)
    add_guest_card(app)  # +852 6123 4567, bound to the signed-in account
    make_location(app, "airport-t1", "Airport counter T1")
    number, _duplicate, _after = take_payment(app, number="6123 4567")
    assert load_order(app, number).account_id is not None
    receipt = client.get(f"/orders/{number}/receipt")
    assert receipt.status_code == 200
    assert "<dt>Paid with</dt><dd>Cash</dd>" in receipt.text
    assert "counter:cash" not in receipt.text and "None" not in receipt.text
    assert "Payment reference" not in receipt.text
