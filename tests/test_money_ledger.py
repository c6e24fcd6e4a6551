"""Every yuan ends as data on a card or a refund, and someone can see which.

Orders are taken through the steps a traveller, the gateway and a second app server can produce, in
other orders and twice at once: pay (the sandbox gateway's notification sent normally, twice, never, or
out of order), the browser's return, cancel, re-confirm, and the same signed notification posted to two
app servers at once. Then the job worker settles what is left (queries, late-payment checks, data,
refunds), and the books are read: for each trade the gateway holds, our side has the data on the card
once, or a full refund that the gateway confirms; never both, never twice, never neither.
"""

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from conftest import csrf_token, make_order, run_jobs
from sqlalchemy import func, select
from test_late_payments import cancel, kept_cashier_url, pay_kept_url, wait_for

import jobs
from extensions import db
from models import Card, CardPack, Order, Refund, utcnow
from sandbox import alipay_ledger, deliveries
from sandbox.models import SandboxTrade

PHONE = "+85291234567"
NOTIFY = "/payments/alipay/notify"
# Each scenario is one order on its own card: its steps in the order they happen.
SCENARIOS = [
    ("pay",),
    ("pay:repeat",),
    ("pay:reorder",),
    ("pay:drop", "return"),  # the notification is lost; the browser's return asks the gateway
    ("pay:drop",),  # lost, and no return: the query job finds it
    ("pay:drop", "two_servers"),  # the same signed notification reaches two app servers at once
    ("cancel", "pay"),  # a kept cashier URL paid after cancelling: refunded in full
    ("cancel", "pay:drop"),  # the same with the notification lost: the late-payment check finds it
    ("pay", "cancel"),  # too late to cancel: the order is paid and gets its data
    ("reconfirm", "pay:repeat", "cancel"),
    ("pay:drop", "cancel", "return"),  # the cancel finds the payment at the gateway
    ("pay:repeat", "reconfirm", "return"),
]


def reconfirm(client, card_id: int) -> int:
    """Confirm the checkout again for the same card and plan, starting after the current pack."""
    review = client.get(f"/checkout?plan=gba-3d&card={card_id}")
    form = {"csrf_token": csrf_token(review.text), "plan": "gba-3d", "card": card_id, "start": "after_current"}
    return client.post("/checkout/confirm", data=form).status_code


def signed_paid_notification(app, number: str) -> dict:
    """The TRADE_SUCCESS notification the gateway signed for this order's trade."""
    with app.test_request_context():
        trade = db.session.scalars(select(SandboxTrade).where(SandboxTrade.out_trade_no == number)).one()
        paid, _waiting = alipay_ledger.notifications(trade)
    return paid


def post_to_two_servers(app, other, params: dict) -> list[int]:
    """The same notification to this app and to a second app server on the same database, together."""
    start = threading.Barrier(2)

    def post(server):
        the_client = server.test_client()
        start.wait(timeout=10)
        return the_client.post(NOTIFY, data=params).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        return [f.result() for f in [pool.submit(post, server) for server in (app, other)]]


def run_steps(app, other, client, number: str, card_id: int, steps, statuses: list[int]) -> None:
    url = kept_cashier_url(client, number)
    paid = None
    for step in steps:
        action, _, behaviour = step.partition(":")
        if action == "pay":
            paid = pay_kept_url(client, url, behaviour or "normal")
            statuses.append(paid.status_code)
        elif action == "return":
            assert paid is not None and paid.status_code == 303
            statuses.append(client.get(paid.headers["Location"]).status_code)  # the signed return URL
        elif action == "cancel":
            statuses.append(cancel(client, number).status_code)
        elif action == "reconfirm":
            statuses.append(reconfirm(client, card_id))
        elif action == "two_servers":
            statuses += post_to_two_servers(app, other, signed_paid_notification(app, number))


def settle(app) -> None:
    """Let the time pass that the jobs wait for (the query's head start, pay-by, the late-payment
    margin), then run rounds until one finds nothing left to do."""
    with app.app_context():
        past = utcnow() - jobs.LATE_MARGIN - jobs.QUERY_AFTER - timedelta(seconds=5)
        db.session.execute(db.update(Order).values(created_at=past, pay_by=past, next_check_at=None))
        db.session.commit()
    for _ in range(20):
        if not any(run_jobs(app).values()):
            return
    pytest.fail("the job worker still had work after 20 rounds")


def books(app) -> list[tuple[str, str, int, int, int, int]]:
    """Per order that the gateway holds money for: (number, state, paid cents, packs on the card,
    refunded cents done on our side, refunded cents at the gateway)."""
    with app.app_context():
        rows = []
        for trade in db.session.scalars(select(SandboxTrade).where(SandboxTrade.paid_at.is_not(None))):
            order = db.session.scalars(select(Order).where(Order.number == trade.out_trade_no)).one()
            packs = db.session.scalar(select(func.count(CardPack.id)).where(CardPack.order_id == order.id))
            refunded = db.session.scalar(
                select(func.coalesce(func.sum(Refund.amount_cents), 0)).where(
                    Refund.trade_no == trade.trade_no, Refund.status == "done"
                )
            )
            paid = order.total_cents
            rows.append((order.number, order.state, paid, packs, refunded, trade.refunded_amount_cents))
        return rows


def test_every_yuan_ends_as_data_or_a_refund_whatever_the_order_of_events(app, app_with, client, live_server, sign_in):
    app.config["CARRIER_CACHE_SECONDS"] = 0
    other = app_with()  # a second app server: its own process memory, the same database
    sign_in(PHONE)
    statuses: list[int] = []
    numbers = []
    for index, steps in enumerate(SCENARIOS):
        number = make_order(app, phone=PHONE, msisdn=f"+8526{index:07d}")
        with app.app_context():
            card_id = db.session.scalar(select(Card.id).where(Card.msisdn == f"+8526{index:07d}"))
        run_steps(app, other, client, number, card_id, steps, statuses)
        numbers.append(number)
    with app.app_context():
        assert wait_for(lambda: deliveries.pending() == 0), "the sandbox still owes notifications"
    settle(app)

    assert all(status < 500 for status in statuses), statuses
    ledger = books(app)
    assert len(ledger) == len(SCENARIOS)  # every scenario paid once at the gateway
    for number, state, paid, packs, refunded, gateway_refunded in ledger:
        as_data = state == "fulfilled" and packs == 1 and refunded == 0
        as_refund = state in ("cancelled", "expired") and packs == 0 and refunded == paid
        assert as_data or as_refund, (number, state, paid, packs, refunded)
        assert gateway_refunded == refunded  # the gateway agrees with our books
    expected_refunds = {numbers[i] for i, steps in enumerate(SCENARIOS) if steps[0] == "cancel"}
    assert {row[0] for row in ledger if row[4]} == expected_refunds


@pytest.mark.parametrize("seed", [3, 11])
def test_the_same_notification_from_many_servers_and_copies_credits_once(app, app_with, seed):
    """A payment's notification, repeated and shuffled among three app servers, in parallel."""
    from test_notifications import notification

    servers = [app, app_with(), app_with()]
    number = make_order(app)
    params = notification(app, number)
    posts = [random.Random(seed).choice(servers) for _ in range(12)]
    start = threading.Barrier(len(posts))

    def post(server):
        the_client = server.test_client()
        start.wait(timeout=10)
        return the_client.post(NOTIFY, data=params).text

    with ThreadPoolExecutor(max_workers=len(posts)) as pool:
        answers = list(pool.map(post, posts))
    assert answers == ["success"] * len(posts)
    settle(app)
    with app.app_context():
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        packs = db.session.scalar(select(func.count(CardPack.id)).where(CardPack.order_id == order.id))
        assert (order.state, packs) == ("fulfilled", 1)
