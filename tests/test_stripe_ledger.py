"""Every card payment ends as data on a card or a refund, whatever order Stripe's webhooks, the
browser's return, a cancel and a second app server come in (the chaos ledger of test_money_ledger,
for orders paid by card through the Stripe sandbox)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from conftest import make_order
from sqlalchemy import func, select, update
from test_late_payments import cancel, wait_for
from test_money_ledger import reconfirm, settle
from test_stripe_pay import open_checkout, pay_by_card

from extensions import db
from models import Card, CardPack, Order, Refund
from sandbox import deliveries, stripe_ledger, stripe_webhooks
from sandbox.stripe_models import SandboxStripeRefund, SandboxStripeSession

PHONE = "+85291234567"
NOTIFY = "/payments/stripe/notify"
SCENARIOS = [
    ("pay",),
    ("pay:repeat",),
    ("pay:reorder",),
    ("pay:drop", "return"),  # the webhook is lost; the browser's return asks Stripe
    ("pay:drop",),  # lost, and no return: the query job finds it
    ("pay:drop", "two_servers"),  # the same signed webhook reaches two app servers at once
    ("cancel", "pay"),  # the cancel expired the session at Stripe: the card cannot be charged
    ("forget", "pay"),  # cancelled here while Stripe still took the card: refunded in full
    ("forget", "pay:drop"),  # the same with the webhook lost: the late-payment check finds it
    ("pay", "cancel"),  # too late to cancel: paid, and gets its data
    ("reconfirm", "pay:repeat", "cancel"),
    ("pay:drop", "cancel", "return"),  # the cancel finds the payment at Stripe
]
LATE = {"forget"}


def forget(app, number: str) -> None:
    """The order cancelled on our side only, as if the session's expiry had never reached Stripe."""
    with app.app_context():
        db.session.execute(update(Order).where(Order.number == number).values(state="cancelled", pending_key=None))
        db.session.commit()


def signed_paid_event(app, path: str) -> tuple[str, str]:
    with app.test_request_context():
        session = db.session.get(SandboxStripeSession, path.rsplit("/", 1)[1])
        body = stripe_webhooks.event("checkout.session.completed", stripe_ledger.session_json(session, ""))
        return body, stripe_webhooks.sign(body, app.config["STRIPE_WEBHOOK_SECRET"])


def post_to_two_servers(app, other, body: str, signature: str) -> list[int]:
    start = threading.Barrier(2)
    headers = {"Stripe-Signature": signature, "Content-Type": "application/json"}

    def post(server):
        the_client = server.test_client()
        start.wait(timeout=10)
        return the_client.post(NOTIFY, data=body, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        return [f.result() for f in [pool.submit(post, server) for server in (app, other)]]


def run_steps(app, other, client, number: str, card_id: int, steps, statuses: list[int]) -> None:
    path = open_checkout(client, number)
    paid = None
    for step in steps:
        action, _, behaviour = step.partition(":")
        if action == "pay":
            paid = pay_by_card(client, path, behaviour or "normal")
            statuses.append(paid.status_code)
        elif action == "return":
            assert paid is not None and paid.status_code == 303
            back = urlsplit(paid.headers["Location"])
            statuses.append(client.get(f"{back.path}?{back.query}").status_code)
        elif action == "cancel":
            statuses.append(cancel(client, number).status_code)
        elif action == "forget":
            forget(app, number)
        elif action == "reconfirm":
            statuses.append(reconfirm(client, card_id))
        elif action == "two_servers":
            statuses += post_to_two_servers(app, other, *signed_paid_event(app, path))


def books(app) -> list[tuple[str, str, int, int, int, int]]:
    """Per order Stripe holds money for: (number, state, paid cents, packs on the card, refunded cents
    done on our side, refunded cents at Stripe)."""
    with app.app_context():
        rows = []
        paid = select(SandboxStripeSession).where(SandboxStripeSession.payment_status == "paid")
        for session in db.session.scalars(paid):
            order = db.session.scalars(select(Order).where(Order.number == session.client_reference_id)).one()
            packs = db.session.scalar(select(func.count(CardPack.id)).where(CardPack.order_id == order.id))
            ours = select(func.coalesce(func.sum(Refund.amount_cents), 0)).where(
                Refund.trade_no == session.payment_intent, Refund.status == "done"
            )
            theirs = select(func.coalesce(func.sum(SandboxStripeRefund.amount), 0)).where(
                SandboxStripeRefund.payment_intent == session.payment_intent
            )
            rows.append(
                (
                    order.number,
                    order.state,
                    session.amount_total,
                    packs,
                    db.session.scalar(ours),
                    db.session.scalar(theirs),
                )
            )
        return rows


def test_every_card_payment_ends_as_data_or_a_refund_whatever_the_order_of_events(
    app, app_with, client, live_server, sign_in
):
    app.config["CARRIER_CACHE_SECONDS"] = 0
    other = app_with()  # a second app server: its own process memory, the same database
    sign_in(PHONE)
    statuses: list[int] = []
    numbers = []
    for index, steps in enumerate(SCENARIOS):
        msisdn = f"+8526{index:07d}"
        number = make_order(app, phone=PHONE, msisdn=msisdn)
        with app.app_context():
            db.session.execute(update(Order).where(Order.number == number).values(payment_method="stripe"))
            db.session.commit()
            card_id = db.session.scalar(select(Card.id).where(Card.msisdn == msisdn))
        run_steps(app, other, client, number, card_id, steps, statuses)
        numbers.append(number)
    with app.app_context():
        assert wait_for(lambda: deliveries.pending() == 0, 20), "the Stripe sandbox still owes webhooks"
    settle(app)
    deliveries.stop(app)

    assert all(status < 500 for status in statuses), statuses
    ledger = books(app)
    cannot_pay = {numbers[i] for i, steps in enumerate(SCENARIOS) if steps[:2] == ("cancel", "pay")}
    assert {row[0] for row in ledger} == set(numbers) - cannot_pay  # every other scenario paid once at Stripe
    for number, state, paid, packs, refunded, stripe_refunded in ledger:
        as_data = state == "fulfilled" and packs == 1 and refunded == 0
        as_refund = state in ("cancelled", "expired") and packs == 0 and refunded == paid
        assert as_data or as_refund, (number, state, paid, packs, refunded)
        assert stripe_refunded == refunded  # Stripe agrees with our books
    late = {numbers[i] for i, steps in enumerate(SCENARIOS) if steps[0] in LATE}
    assert {row[0] for row in ledger if row[4]} == late
