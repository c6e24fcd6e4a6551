"""The rules reach a payment method through the payment interface and its registry, by the order's
payment_method: a method registered under another name is the one asked for its orders."""

from datetime import date, timedelta

import pytest
from conftest import csrf_token, load_order, make_order, run_jobs
from sqlalchemy import select
from test_payment_recovery import pay_at_cashier

import jobs
from extensions import db
from gateways import providers
from gateways.payment_methods import Answer, BillLine, Incoming, Notification, NotificationRefused, RefundResult, Trade
from models import NotificationOutcome, Order, PaymentNotification, Refund, utcnow


class MemoryPay:
    """A payment method keeping its trades in memory, and a list of what it was asked."""

    name = "memorypay"

    def __init__(self) -> None:
        self.trades: dict[str, Trade] = {}
        self.refunded: dict[str, int] = {}
        self.calls: list[tuple[str, str]] = []

    def start_payment(self, order, *, return_url: str, notify_url: str, quit_url: str) -> str:
        self.calls.append(("start_payment", order.number))
        return f"https://pay.example/{order.number}"

    def read_notification(self, incoming: Incoming) -> Notification:
        params = incoming.form
        if params.get("signed") != "yes":
            raise NotificationRefused(NotificationOutcome.BAD_SIGNATURE)
        cents = int(params["cents"])
        return Notification(params["order"], params["trade"], "TRADE_SUCCESS", cents, {"trade_no": params["trade"]})

    def answer(self, accepted: bool) -> Answer:
        return Answer('{"ok": true}', 200, "application/json") if accepted else Answer('{"ok": false}', 400)

    def returned_order(self, incoming: Incoming) -> str | None:
        return incoming.form.get("order")

    def query(self, out_trade_no: str) -> Trade | None:
        self.calls.append(("query", out_trade_no))
        return self.trades.get(out_trade_no)

    def close(self, out_trade_no: str) -> bool:
        self.calls.append(("close", out_trade_no))
        return True

    def refund(self, out_trade_no, amount_cents, out_request_no, reason, trade_no=None) -> RefundResult:
        self.calls.append(("refund", out_trade_no))
        moved = out_request_no not in self.refunded
        self.refunded[out_request_no] = amount_cents
        return RefundResult(moved, sum(self.refunded.values()))

    def query_refund(self, out_trade_no, out_request_no, trade_no=None) -> int | None:
        return self.refunded.get(out_request_no)

    def day_bill(self, day: date) -> list[BillLine]:
        return []


@pytest.fixture
def memorypay(monkeypatch):
    method = MemoryPay()
    monkeypatch.setitem(providers.PROVIDERS, method.name, method)
    return method


def order_of_method(app, number: str, method: str) -> None:
    with app.app_context():
        db.session.execute(db.update(Order).where(Order.number == number).values(payment_method=method))
        db.session.commit()


def paid_trade(app, number: str, trade_no: str) -> Trade:
    return Trade("TRADE_SUCCESS", trade_no, load_order(app, number).total_cents, utcnow())


def test_the_query_job_asks_the_orders_own_method_and_a_paid_answer_pays_it(app, memorypay):
    number = make_order(app)
    order_of_method(app, number, "memorypay")
    memorypay.trades[number] = paid_trade(app, number, "MP-1")
    with app.app_context():
        db.session.execute(db.update(Order).values(created_at=utcnow() - jobs.QUERY_AFTER - timedelta(seconds=1)))
        db.session.commit()
    assert run_jobs(app)["queried"] == 1
    order = load_order(app, number)
    assert memorypay.calls[0] == ("query", number)
    assert order.state in ("paid", "fulfilled") and order.trade_no == "MP-1"
    assert order.payment_method == "memorypay" and order.transitions[1].cause == "query_job"


def test_a_cancel_closes_the_trade_there_and_a_late_payment_is_refunded_there(
    app, client, live_server, sign_in, memorypay
):
    sign_in()
    number = make_order(app)
    order_of_method(app, number, "memorypay")
    status_page = client.get(f"/orders/{number}")
    response = client.post(f"/orders/{number}/cancel", data={"csrf_token": csrf_token(status_page.text)})
    assert response.status_code == 303
    assert load_order(app, number).state == "cancelled"
    assert memorypay.calls == [("query", number), ("close", number)]

    memorypay.trades[number] = paid_trade(app, number, "MP-LATE")  # paid all the same, notification lost
    with app.app_context():
        db.session.execute(db.update(Order).values(pay_by=utcnow() - jobs.LATE_MARGIN - timedelta(seconds=1)))
        db.session.commit()
    done = run_jobs(app)
    assert (done["cancelled_checked"], done["refunds"]) == (1, 1)
    assert memorypay.refunded == {"MP-LATE-late": load_order(app, number).total_cents}
    with app.app_context():
        assert db.session.scalars(select(Refund.status)).all() == ["done"]


def test_a_notification_is_read_and_answered_by_its_method_and_the_order_records_that_method(app, client, memorypay):
    number = make_order(app)  # no method yet: not paid
    cents = str(load_order(app, number).total_cents)
    forged = {"order": number, "trade": "MP-2", "cents": cents}
    refused = client.post("/payments/memorypay/notify", data=forged)
    assert (refused.status_code, refused.text) == (400, '{"ok": false}')
    accepted = client.post("/payments/memorypay/notify", data={**forged, "signed": "yes"})
    assert (accepted.status_code, accepted.content_type, accepted.text) == (200, "application/json", '{"ok": true}')
    assert client.post("/payments/nopay/notify", data=forged).status_code == 404
    with app.app_context():
        kept = db.session.scalars(select(PaymentNotification).order_by(PaymentNotification.id)).all()
        assert [(row.provider, row.outcome) for row in kept] == [
            ("memorypay", "bad_signature"),
            ("memorypay", "paid"),
        ]
    order = load_order(app, number)
    assert (order.state, order.trade_no, order.payment_method) == ("paid", "MP-2", "memorypay")


def test_alipay_answers_a_refund_query_with_what_that_request_refunded(app, client, live_server, sign_in):
    sign_in()
    number = make_order(app)
    pay_at_cashier(client, number, "drop")
    alipay = providers.provider("alipay")
    with app.test_request_context():
        assert alipay.query_refund(number, f"{number}-R1") is None  # nothing refunded yet
        assert alipay.refund(number, 1000, f"{number}-R1", "changed plans").fund_change
        assert alipay.query_refund(number, f"{number}-R1") == 1000
        assert alipay.query_refund(number, f"{number}-R2") is None
        assert alipay.query_refund("RRNEVER", "RRNEVER-R1") is None  # no such trade
