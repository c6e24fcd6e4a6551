"""Cards through Stripe Checkout, over real HTTP against the local Stripe sandbox with the stripe
library: the pay link opens a Checkout Session, the signed webhook pays the order, and query, close,
refund, refund query and the day's bill go through the payment interface."""

import json
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import csrf_token, load_order, make_order, run_jobs
from sqlalchemy import select, update
from test_late_payments import cancel, refunds_of, wait_for

from extensions import db
from gateways import providers
from gateways.payment_methods import GatewayError
from models import Order, PaymentNotification, utcnow
from rules.payments import reconciliation
from sandbox import deliveries
from sandbox.stripe_models import SandboxStripeRefund, SandboxStripeSession


@pytest.fixture
def shop(app, client, live_server, sign_in):
    """A signed-in traveller, the app served over HTTP (the sandbox's webhooks reach it)."""
    sign_in()
    yield app
    deliveries.stop(app)  # the next test's rows are not this app's to deliver


def card_order(app, **fields) -> str:
    """An unpaid order the traveller chose to pay by card (the choice itself is the review page's)."""
    number = make_order(app)
    with app.app_context():
        db.session.execute(update(Order).where(Order.number == number).values(payment_method="stripe", **fields))
        db.session.commit()
    return number


def open_checkout(client, number: str) -> str:
    """The sandbox Checkout page's path that /orders/<n>/pay leads to."""
    response = client.get(f"/orders/{number}/pay")
    assert response.status_code == 303
    url = urlsplit(response.headers["Location"])
    assert url.path.startswith("/sandbox/stripe/c/pay/cs_test_")
    return url.path


def pay_by_card(client, path: str, behaviour: str = "normal"):
    page = client.get(path)
    assert page.status_code == 200 and "SANDBOX" in page.text
    return client.post(path, data={"csrf_token": csrf_token(page.text), "behaviour": behaviour, "delay": "0"})


def session_of(app, number: str) -> SandboxStripeSession:
    with app.app_context():
        session = db.session.scalars(
            select(SandboxStripeSession).where(SandboxStripeSession.client_reference_id == number)
        ).one()
        db.session.expunge(session)
        return session


def notifications(app) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.scalars(select(PaymentNotification).order_by(PaymentNotification.id)).all()
        return [(row.provider, row.outcome) for row in rows]


def test_a_card_paid_at_checkout_pays_the_order_by_its_webhook_and_the_data_is_added(shop, client):
    number = card_order(shop)
    path = open_checkout(client, number)
    paid = pay_by_card(client, path)
    assert paid.status_code == 303
    back = urlsplit(paid.headers["Location"])
    assert back.path == "/payments/stripe/return"
    assert parse_qs(back.query)["order"] == [number] and parse_qs(back.query)["session_id"][0].startswith("cs_test_")
    assert wait_for(lambda: load_order(shop, number).state == "paid")
    order = load_order(shop, number)
    assert order.trade_no == session_of(shop, number).payment_intent and order.trade_no.startswith("pi_")
    assert notifications(shop) == [("stripe", "paid")]
    run_jobs(shop)
    assert load_order(shop, number).state == "fulfilled"
    # Back from Checkout: the order's own page (the return asked Stripe; it was paid already).
    assert client.get(f"{back.path}?{back.query}").headers["Location"] == f"/orders/{number}"


def test_a_second_click_on_pay_gets_the_same_checkout_session(shop, client):
    number = card_order(shop)
    assert open_checkout(client, number) == open_checkout(client, number)
    with shop.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(SandboxStripeSession)) == 1


def test_checkout_session_carries_the_order_price_currency_and_a_stripe_acceptable_expiry(shop, client):
    number = card_order(shop)
    open_checkout(client, number)
    session, order = session_of(shop, number), load_order(shop, number)
    assert (session.amount_total, session.currency) == (order.total_cents, "hkd")
    # 15 minutes to pay, Stripe's floor of 30: the session outlives pay_by and our expiry closes it.
    assert timedelta(minutes=31) - timedelta(seconds=1) < session.expires_at - order.pay_by <= timedelta(minutes=31)


def test_query_close_refund_refund_query_and_the_bill_go_through_the_interface(shop, client):
    number = card_order(shop)
    back = urlsplit(pay_by_card(client, open_checkout(client, number), "drop").headers["Location"])
    client.get(f"{back.path}?{back.query}")  # the return asks Stripe: paid, though no webhook came
    order = load_order(shop, number)
    assert order.state == "paid" and notifications(shop) == []
    stripe = providers.provider("stripe")
    with shop.test_request_context():
        trade = stripe.query(number)
        assert (trade.trade_status, trade.trade_no, trade.total_cents) == (
            "TRADE_SUCCESS",
            order.trade_no,
            order.total_cents,
        )
        assert trade.currency == "HKD"
        with pytest.raises(GatewayError, match="is paid"):
            stripe.close(number)
        assert stripe.query_refund(number, f"{number}-R1") is None
        first = stripe.refund(number, 1000, f"{number}-R1", "changed plans")
        assert (first.fund_change, first.refund_fee_cents) == (True, 1000)
        again = stripe.refund(number, 1000, f"{number}-R1", "changed plans")
        assert (again.fund_change, again.refund_fee_cents) == (False, 1000)
        assert stripe.query_refund(number, f"{number}-R1") == 1000
        assert stripe.query_refund(number, f"{number}-R2") is None
        assert stripe.query("RRNEVER") is None
        bill = stripe.day_bill(reconciliation.hk_today())
    assert [(line.kind, line.trade_no, line.out_trade_no, line.refund_no, line.amount_cents) for line in bill] == [
        ("refund", order.trade_no, number, f"{number}-R1", 1000),
        ("payment", order.trade_no, number, None, order.total_cents),
    ]
    with shop.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(SandboxStripeRefund)) == 1


def test_cancelling_expires_the_checkout_session_so_it_can_no_longer_be_paid(shop, client):
    number = card_order(shop)
    path = open_checkout(client, number)
    assert cancel(client, number).status_code == 303
    assert load_order(shop, number).state == "cancelled"
    assert session_of(shop, number).status == "expired"
    assert pay_by_card(client, path).status_code == 409
    # Stripe tells of the expiry too: kept, changes nothing.
    assert wait_for(lambda: notifications(shop) == [("stripe", "ignored_status")])
    assert load_order(shop, number).state == "cancelled"


def test_a_card_payment_reaching_a_cancelled_order_is_refunded_through_stripe(shop, client):
    number = card_order(shop)
    path = open_checkout(client, number)
    # Cancelled here while Stripe still took the card (its session's expiry lost on the way).
    with shop.app_context():
        db.session.execute(update(Order).where(Order.number == number).values(state="cancelled", pending_key=None))
        db.session.commit()
    assert pay_by_card(client, path).status_code == 303
    assert wait_for(lambda: ("stripe", "refund:paid_after_cancel") in notifications(shop))
    run_jobs(shop)
    (refund,) = refunds_of(shop, number)
    session = session_of(shop, number)
    total = load_order(shop, number).total_cents
    assert (refund.status, refund.trade_no, refund.amount_cents) == ("done", session.payment_intent, total)
    with shop.app_context():
        at_stripe = db.session.scalars(select(SandboxStripeRefund)).one()
        assert (at_stripe.payment_intent, at_stripe.amount) == (session.payment_intent, total)
        assert json.loads(at_stripe.metadata_json)["out_request_no"] == refund.out_request_no
    assert load_order(shop, number).state == "cancelled"
    # Stripe's charge.refunded webhook is kept and changes nothing.
    assert wait_for(lambda: notifications(shop)[-1] == ("stripe", "ignored_status"))


def test_the_expiry_job_expires_the_session_of_an_unpaid_card_order(shop, client):
    number = card_order(shop)
    open_checkout(client, number)
    with shop.app_context():
        past = utcnow() - timedelta(minutes=5)
        db.session.execute(update(Order).where(Order.number == number).values(pay_by=past))
        db.session.commit()
    run_jobs(shop)
    assert load_order(shop, number).state == "expired"
    assert session_of(shop, number).status == "expired"


def test_a_timed_out_stripe_call_is_a_gateway_error(shop, client):
    number = card_order(shop)
    shop.config["STRIPE_TIMEOUT"] = 0.5
    with shop.test_request_context():
        from sandbox import alipay_switches

        alipay_switches.set_timeout_percent(100, "stripe_api_timeout_percent")
        db.session.commit()
        started = time.monotonic()
        with pytest.raises(GatewayError):
            providers.provider("stripe").query(number)
        assert time.monotonic() - started < 5


def test_reconciliation_reads_stripes_balance_transactions_and_finds_a_card_order_matched(shop, client):
    shop.config["ALIPAY_SANDBOX_BILL_DELAY_HOURS"] = -24  # Alipay's bill of today ready too
    number = card_order(shop)
    pay_by_card(client, open_checkout(client, number))
    assert wait_for(lambda: load_order(shop, number).state == "paid")
    with shop.app_context():
        row = reconciliation.run(reconciliation.hk_today())
        assert (row.status, row.matched_count, row.gateway_count) == ("matched", 1, 1)
        db.session.execute(update(Order).where(Order.number == number).values(total_cents=1))  # our books wrong
        db.session.commit()
        row = reconciliation.run(reconciliation.hk_today())
        assert [(d.kind, d.trade_no, d.their_cents) for d in row.differences] == [
            ("amount_differs", load_order(shop, number).trade_no, session_of(shop, number).amount_total)
        ]
