"""Every yuan paid with WeChat Pay ends as data on a card or a refund, whatever the order of events.

The WeChat Pay counterpart of test_money_ledger: orders paid at the WeChat Pay sandbox's cashier with
its notifications sent normally, three times, never, or out of order; the browser's return; cancels
before and after paying; a second checkout; the same signed notification posted to two app servers
at once. Then the job worker settles the rest and the books are read per trade WeChat Pay holds.
A cancel closes the WeChat Pay trade first, so a cashier kept open cannot pay after it.
"""

import re
import threading
from concurrent.futures import ThreadPoolExecutor

from conftest import csrf_token, make_order
from sqlalchemy import func, select
from test_late_payments import cancel, wait_for
from test_money_ledger import reconfirm, settle
from test_wechat_pay import open_cashier

from extensions import db
from models import Card, CardPack, Order, Refund
from sandbox import deliveries, wechat_ledger, wechat_signer
from sandbox.models import SandboxWechatRefund, SandboxWechatTrade

PHONE = "+85291234567"
SCENARIOS = [
    ("pay",),
    ("pay:repeat",),
    ("pay:reorder",),
    ("pay:drop", "return"),
    ("pay:drop",),
    ("pay:drop", "two_servers"),
    ("pay", "cancel"),  # too late to cancel: paid, gets its data
    ("pay:drop", "cancel", "return"),  # the cancel finds the payment at WeChat Pay
    ("reconfirm", "pay:repeat", "cancel"),
    ("pay:repeat", "reconfirm", "return"),
    ("cancel", "pay"),  # the trade was closed by the cancel: the kept cashier can no longer pay
]


def as_wechat(app, number: str) -> None:
    with app.app_context():
        db.session.execute(db.update(Order).where(Order.number == number).values(payment_method="wechat"))
        db.session.commit()


def press_pay(client, cashier, behaviour: str):
    action = re.search(r'action="([^"]*/pay[^"]*)"', cashier.text)
    if action is None:  # the cashier says the trade is closed
        return None
    data = {"csrf_token": csrf_token(cashier.text), "behaviour": behaviour, "delay": "0"}
    return client.post(action.group(1).replace("&amp;", "&"), data=data)


def post_to_two_servers(app, other, number: str) -> list[int]:
    """The paid notification WeChat Pay signed for this trade, to two app servers at once."""
    with app.app_context():
        trade = db.session.scalars(select(SandboxWechatTrade).where(SandboxWechatTrade.out_trade_no == number)).one()
        body = wechat_signer.notification_body(wechat_ledger.transaction(trade))
        headers = {"Content-Type": "application/json", **wechat_signer.signed_headers(body)}
    start = threading.Barrier(2)

    def post(server):
        the_client = server.test_client()
        start.wait(timeout=10)
        return the_client.post("/payments/wechat/notify", data=body.encode(), headers=headers).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        return [f.result() for f in [pool.submit(post, server) for server in (app, other)]]


def run_steps(app, other, client, number, card_id, steps, statuses) -> None:
    cashier = open_cashier(client, number)  # kept open in a tab
    paid = None
    for step in steps:
        action, _, behaviour = step.partition(":")
        if action == "pay":
            paid = press_pay(client, cashier, behaviour or "normal")
            statuses.append(paid.status_code if paid is not None else 409)
        elif action == "return":
            assert paid is not None and paid.status_code == 303
            statuses.append(client.get(paid.headers["Location"]).status_code)
        elif action == "cancel":
            statuses.append(cancel(client, number).status_code)
        elif action == "reconfirm":
            statuses.append(reconfirm(client, card_id))
        elif action == "two_servers":
            statuses += post_to_two_servers(app, other, number)


def books(app) -> list[tuple[str, str, int, int, int, int]]:
    """Per order WeChat Pay holds money for: (number, state, paid cents, packs on the card, refunded
    cents done on our side, refunded cents at WeChat Pay)."""
    with app.app_context():
        rows = []
        for trade in db.session.scalars(select(SandboxWechatTrade).where(SandboxWechatTrade.paid_at.is_not(None))):
            order = db.session.scalars(select(Order).where(Order.number == trade.out_trade_no)).one()
            packs = db.session.scalar(select(func.count(CardPack.id)).where(CardPack.order_id == order.id))
            ours = select(func.coalesce(func.sum(Refund.amount_cents), 0)).where(
                Refund.trade_no == trade.transaction_id, Refund.status == "done"
            )
            theirs = select(func.coalesce(func.sum(SandboxWechatRefund.amount_cents), 0)).where(
                SandboxWechatRefund.out_trade_no == trade.out_trade_no
            )
            refunded, at_wechat = db.session.scalar(ours), db.session.scalar(theirs)
            rows.append((order.number, order.state, order.total_cents, packs, refunded, at_wechat))
        return rows


def test_every_yuan_paid_with_wechat_pay_ends_as_data_or_a_refund(app, app_with, client, live_server, sign_in):
    app.config["CARRIER_CACHE_SECONDS"] = 0
    other = app_with()  # a second app server: its own process memory, the same database
    sign_in(PHONE)
    statuses: list[int] = []
    numbers = []
    for index, steps in enumerate(SCENARIOS):
        number = make_order(app, phone=PHONE, msisdn=f"+8526{index:07d}")
        as_wechat(app, number)
        with app.app_context():
            card_id = db.session.scalar(select(Card.id).where(Card.msisdn == f"+8526{index:07d}"))
        run_steps(app, other, client, number, card_id, steps, statuses)
        numbers.append(number)
    with app.app_context():
        assert wait_for(lambda: deliveries.pending() == 0), "the sandbox still owes notifications"
    settle(app)

    assert all(status < 500 for status in statuses), statuses
    ledger = books(app)
    closed_first = {numbers[i] for i, steps in enumerate(SCENARIOS) if steps[0] == "cancel"}
    assert {row[0] for row in ledger} == set(numbers) - closed_first  # every other scenario paid once
    for number, state, _paid, packs, refunded, at_wechat in ledger:
        assert state == "fulfilled" and packs == 1 and refunded == 0 == at_wechat, (number, state, packs, refunded)
    for number in closed_first:
        with app.app_context():
            order = db.session.scalars(select(Order).where(Order.number == number)).one()
            assert order.state == "cancelled" and order.trade_no is None
