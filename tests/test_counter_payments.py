"""Counter payments (agents) become paid orders that are fulfilled like any other, with a receipt link
by SMS, once per submit; counter payments are refunded at the counter; supervisors cancel unpaid orders
after the gateway's trade is closed."""

import re
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from conftest import load_order, make_order
from shops_support import make_location
from sqlalchemy import func, select

from extensions import db
from models import Card, CounterPayment, Order, Refund, SmsMessage
from rules.payments.payment_events import CancelOutcome
from rules.staff import counter_payments, staff_orders, staff_refunds
from rules.staff.counter_payments import CounterRefused
from rules.travellers import iccid

AGENT = SimpleNamespace(id=3, username="kit", role="agent")
SUPERVISOR = SimpleNamespace(id=4, username="mei", role="supervisor")
ICCID = iccid.with_check_digit("898520099999999999")


@pytest.fixture(autouse=True)
def counter_location(app):
    """The counter the payments name: a location record, "Airport counter T1" in English."""
    return make_location(app, "airport-t1", "Airport counter T1")


def take_payment(app, request_id=None, number="6123 4567", plan="gba-3d", method="cash", iccid_text="", **more):
    with app.test_request_context():
        result = counter_payments.record(
            number,
            plan,
            method,
            more.pop("location", "airport-t1"),
            more.pop("reference", "till 4"),
            request_id or counter_payments.new_request_id(),
            more.pop("actor", AGENT),
            iccid_text=iccid_text,
            **more,
        )
        db.session.commit()
        result.after_commit()
        return result.order.number, result.duplicate, result.after


def sms_to(app, phone, purpose):
    with app.app_context():
        return list(
            db.session.scalars(
                select(SmsMessage.body).where(SmsMessage.to_phone == phone, SmsMessage.purpose == purpose)
            )
        )


def test_a_counter_payment_makes_a_paid_order_that_is_fulfilled_with_a_receipt_link_by_sms(app, plans):
    number, duplicate, after = take_payment(app, iccid_text=ICCID, locale="zh_Hant")
    assert not duplicate and after["location"] == "Airport counter T1" and after["staff"] == "kit"
    order = load_order(app, number)
    assert (order.state, order.payment_method, order.trade_no) == ("fulfilled", "counter:cash", None)
    assert order.total_cents == 5800 and order.paid_at is not None and order.account_id is None
    assert [(t.to_state, t.cause) for t in order.transitions] == [
        ("pending_payment", "counter"),
        ("paid", "counter"),
        ("fulfilled", "counter"),
    ]
    assert '"location": "Airport counter T1"' in order.transitions[1].details and '"staff": "kit"' in (
        order.transitions[1].details
    )
    (receipt,) = sms_to(app, "+85261234567", "receipt")
    assert number in receipt and "HK$58.00" in receipt and "Airport counter T1" in receipt
    link = re.search(r"https?://\S+", receipt).group(0)
    page = app.test_client().get(urlsplit(link).path)
    assert page.status_code == 200 and number in page.text  # the public receipt check opens
    assert len(sms_to(app, "+85261234567", "order_paid")) == 1
    with app.app_context():
        assert db.session.scalars(select(Card).where(Card.msisdn == "+85261234567")).one().iccid == ICCID


def test_a_double_submitted_counter_payment_makes_one_order(app, plans):
    request_id = counter_payments.new_request_id()
    first = take_payment(app, request_id, iccid_text=ICCID)
    second = take_payment(app, request_id, iccid_text=ICCID)
    assert first[0] == second[0] and (first[1], second[1]) == (False, True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Order)) == 1
        assert db.session.scalar(select(func.count()).select_from(CounterPayment)) == 1
    assert len(sms_to(app, "+85261234567", "receipt")) == 1


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"method": "cheque"}, "method"),
        ({"location": "  "}, "location"),
        ({"location": "Airport counter T1"}, "location"),  # free text is not a location any more
        ({"plan": "no-such-plan"}, "plan"),
        ({"number": "123"}, "number"),
        ({"number": "6999 0000"}, "iccid"),  # unknown card and no ICCID
        ({"number": "6999 0000", "iccid_text": "8985200123"}, "iccid"),
    ],
)
def test_a_counter_payment_with_bad_input_is_refused_and_records_nothing(app, plans, fields, field):
    with pytest.raises(CounterRefused) as refused:
        take_payment(app, **fields)
    assert refused.value.field == field and str(refused.value)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Order)) == 0
        assert db.session.scalar(select(func.count()).select_from(Card)) == 0


def test_a_counter_payment_is_refunded_at_the_counter_not_through_alipay(app, plans, monkeypatch):
    from gateways import alipay_gateway

    monkeypatch.setattr(alipay_gateway, "refund", lambda *a, **k: pytest.fail("sent to Alipay"))
    number, _, _ = take_payment(app, iccid_text=ICCID, method="wechat_qr")
    with app.test_request_context():
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        result = staff_refunds.refund(order, "58.00", staff_refunds.new_request_id(), "Wrong plan", SUPERVISOR)
        db.session.commit()
        result.after_commit()
        refund = db.session.scalars(select(Refund)).one()
        assert (refund.status, refund.method, refund.trade_no) == ("done", "counter", None)
        assert refund.done_at is not None and order.state == "refunded"


def cancel(app, number, reason="Traveller asked at the counter", actor=SUPERVISOR):
    with app.test_request_context():
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        result = staff_orders.cancel_unpaid(order, reason, actor)
        db.session.commit()
        result.after_commit()
        return result.outcome, result.before, result.after


def test_a_supervisor_cancels_an_unpaid_order_after_closing_its_trade(app, live_server):
    number = make_order(app, promo="WELCOME10")
    outcome, before, after = cancel(app, number)
    assert outcome == CancelOutcome.CANCELLED and before == {"state": "pending_payment"}
    order = load_order(app, number)
    assert order.state == "cancelled" and order.promotion_id is None  # the promo code use is given back
    last = order.transitions[-1]
    assert last.cause == "staff" and '"staff": "mei"' in last.details and "at the counter" in last.details
    assert after["state"] == "cancelled"
    assert cancel(app, number)[0] == CancelOutcome.NOT_UNPAID


def test_cancelling_while_the_gateway_is_down_changes_nothing(app, live_server):
    number = make_order(app)
    app.config["PUBLIC_BASE_URL"] = "http://127.0.0.1:9"
    assert cancel(app, number)[0] == CancelOutcome.GATEWAY_DOWN
    assert load_order(app, number).state == "pending_payment"


def test_an_agent_cannot_cancel_and_a_reason_is_needed(app, live_server):
    from rules.staff import actors

    number = make_order(app)
    with pytest.raises(actors.NotAllowed):
        cancel(app, number, actor=AGENT)
    with pytest.raises(staff_orders.CancelRefused):
        cancel(app, number, reason="")
    assert load_order(app, number).state == "pending_payment"


@pytest.mark.postgresql_only
def test_eight_concurrent_submits_of_one_counter_payment_make_one_order(app, plans):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    take_payment(app, iccid_text=ICCID, plan="hk-1d")  # the card exists: every submit races for the order alone
    request_id = counter_payments.new_request_id()
    start = threading.Barrier(8)

    def submit(_):
        with app.test_request_context():
            start.wait(timeout=10)
            try:
                result = counter_payments.record("6123 4567", "gba-3d", "cash", "airport-t1", "", request_id, AGENT)
                db.session.commit()
                return result.order.number, result.duplicate
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(submit, range(8)))
    assert len({number for number, _ in outcomes}) == 1
    assert sorted(duplicate for _, duplicate in outcomes) == [False] + [True] * 7
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CounterPayment)) == 2
