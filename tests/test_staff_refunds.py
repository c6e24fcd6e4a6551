"""Staff refunds: in full or in part through the sandbox gateway over real HTTP, once per confirmation,
never more than was paid; refused amounts change nothing; a gateway that is down leaves the refund
requested until the job finishes it; counter payments are refunded at the counter."""

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from conftest import load_order, run_jobs
from sqlalchemy import select, update
from test_receipt_check_and_cashier import cashier_url, pay

import jobs
from extensions import db
from gateways import alipay_gateway
from models import Order, Refund, utcnow
from rules.staff import actors, staff_refunds
from rules.staff.staff_refunds import RefundRefused
from sandbox.models import SandboxTrade

SUPERVISOR = SimpleNamespace(id=7, username="mei", role="supervisor")
AGENT = SimpleNamespace(id=8, username="kit", role="agent")


@pytest.fixture
def paid_number(app, client, live_server, sign_in):
    """An order paid at the sandbox cashier (HK$58.00) and fulfilled."""
    from conftest import make_order

    sign_in()
    number = make_order(app)
    back = urlsplit(pay(client, client.get(cashier_url(client, number))))
    client.get(f"{back.path}?{back.query}")  # the return page asks the gateway: paid
    run_jobs(app)  # the worker adds the data
    assert load_order(app, number).state == "fulfilled"
    return number


@pytest.fixture
def gateway_refunds(monkeypatch):
    calls = []
    real = alipay_gateway.refund

    def counting(*args, **kwargs):
        result = real(*args, **kwargs)
        calls.append(result.fund_change)
        return result

    monkeypatch.setattr(alipay_gateway, "refund", counting)
    return calls


def staff_refund(app, number, amount, request_id=None, reason="Customer asked", actor=SUPERVISOR):
    """As a view does: record, commit, then ask the gateway. The result's before/after."""
    with app.test_request_context():
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        result = staff_refunds.refund(order, amount, request_id or staff_refunds.new_request_id(), reason, actor)
        db.session.commit()
        result.after_commit()
        return result.duplicate, result.before, result.after


def refunds_of(app, number):
    with app.app_context():
        rows = db.session.scalars(select(Refund).where(Refund.order.has(number=number)).order_by(Refund.id)).all()
        db.session.expunge_all()
        return rows


def refunded_at_gateway(app, number) -> int:
    with app.app_context():
        return (
            db.session.scalars(select(SandboxTrade).where(SandboxTrade.out_trade_no == number))
            .one()
            .refunded_amount_cents
        )


def test_a_partial_then_the_rest_refunds_through_alipay_and_the_order_ends_refunded(app, paid_number, gateway_refunds):
    duplicate, before, after = staff_refund(app, paid_number, "HK$20.50")
    assert not duplicate and before["refunded_cents"] == 0 and after["refunded_cents"] == 2050
    assert after["state"] == "fulfilled" and after["amount_cents"] == 2050  # partial: the state stays
    assert load_order(app, paid_number).state == "fulfilled"
    assert refunded_at_gateway(app, paid_number) == 2050

    _, _, after = staff_refund(app, paid_number, "37.5")
    order = load_order(app, paid_number)
    assert (order.state, order.refunded_cents) == ("refunded", 5800) and after["state"] == "refunded"
    assert [(r.amount_cents, r.status, r.method) for r in refunds_of(app, paid_number)] == [
        (2050, "done", "alipay"),
        (3750, "done", "alipay"),
    ]
    assert refunded_at_gateway(app, paid_number) == 5800 and gateway_refunds == [True, True]
    last = order.transitions[-1]
    assert (last.to_state, last.cause) == ("refunded", "staff") and '"staff": "mei"' in last.details


def test_a_double_submitted_refund_refunds_once(app, paid_number, gateway_refunds):
    request_id = staff_refunds.new_request_id()
    first = staff_refund(app, paid_number, "10", request_id)
    second = staff_refund(app, paid_number, "10", request_id)
    assert (first[0], second[0]) == (False, True)
    assert [r.amount_cents for r in refunds_of(app, paid_number)] == [1000]
    assert load_order(app, paid_number).refunded_cents == 1000
    assert refunded_at_gateway(app, paid_number) == 1000 and gateway_refunds == [True]


@pytest.mark.postgresql_only
def test_ten_concurrent_submits_of_one_refund_refund_once(app, paid_number, gateway_refunds):
    request_id = staff_refunds.new_request_id()
    start = threading.Barrier(10)

    def submit(_):
        with app.test_request_context():
            order = db.session.scalars(select(Order).where(Order.number == paid_number)).one()
            start.wait(timeout=10)
            try:
                result = staff_refunds.refund(order, "12.00", request_id, "Customer asked", SUPERVISOR)
                db.session.commit()
                result.after_commit()
                return result.duplicate
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=10) as pool:
        duplicates = list(pool.map(submit, range(10)))
    assert sorted(duplicates) == [False] + [True] * 9
    assert [(r.amount_cents, r.status) for r in refunds_of(app, paid_number)] == [(1200, "done")]
    assert load_order(app, paid_number).refunded_cents == 1200 and refunded_at_gateway(app, paid_number) == 1200


@pytest.mark.postgresql_only
def test_concurrent_different_refunds_never_add_up_to_more_than_was_paid(app, paid_number):
    start = threading.Barrier(4)

    def submit(_):
        with app.test_request_context():
            order = db.session.scalars(select(Order).where(Order.number == paid_number)).one()
            start.wait(timeout=10)
            try:
                staff_refunds.refund(order, "20.00", staff_refunds.new_request_id(), "Goodwill", SUPERVISOR)
                db.session.commit()
                return "ok"
            except RefundRefused:
                db.session.rollback()
                return "refused"
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = sorted(pool.map(submit, range(4)))
    assert outcomes == ["ok", "ok", "refused", "refused"]  # 2 × 20 fit in 58, a third does not
    assert load_order(app, paid_number).refunded_cents == 4000


@pytest.mark.parametrize(
    "amount, message",
    [
        ("-5", "cannot be negative"),
        ("ten", "like 12.50"),
        ("1.234", "at most two decimals"),
        ("0", "more than zero"),
        ("0.00", "more than zero"),
        ("", "Enter an amount"),
        ("58.01", "At most HK$58.00 is left"),
        ("1e3", "like 12.50"),
    ],
)
def test_a_bad_amount_is_refused_with_a_message_and_nothing_changes(app, paid_number, gateway_refunds, amount, message):
    with pytest.raises(RefundRefused, match=re.escape(message)):
        staff_refund(app, paid_number, amount)
    assert refunds_of(app, paid_number) == [] and gateway_refunds == []
    assert load_order(app, paid_number).refunded_cents == 0


def test_a_refund_larger_than_what_is_left_is_refused(app, paid_number):
    staff_refund(app, paid_number, "50")
    with pytest.raises(RefundRefused, match=re.escape("At most HK$8.00 is left")):
        staff_refund(app, paid_number, "8.01")
    staff_refund(app, paid_number, "8")
    with pytest.raises(RefundRefused, match="refunded in full already"):
        staff_refund(app, paid_number, "0.01")
    assert [r.amount_cents for r in refunds_of(app, paid_number)] == [5000, 800]


def test_an_agent_cannot_refund_and_a_reason_is_needed(app, paid_number):
    with pytest.raises(actors.NotAllowed):
        staff_refund(app, paid_number, "1", actor=AGENT)
    with pytest.raises(RefundRefused, match="Say why"):
        staff_refund(app, paid_number, "1", reason="  ")
    assert refunds_of(app, paid_number) == []


def test_an_unpaid_order_cannot_be_refunded(app, live_server):
    from conftest import make_order

    number = make_order(app)
    with pytest.raises(RefundRefused, match="Only a paid order"):
        staff_refund(app, number, "1")


def test_a_refund_while_the_gateway_is_down_stays_requested_and_the_job_finishes_it(
    app, paid_number, live_server, gateway_refunds
):
    app.config["PUBLIC_BASE_URL"] = "http://127.0.0.1:9"  # unreachable for a while
    staff_refund(app, paid_number, "58")
    (refund,) = refunds_of(app, paid_number)
    assert (refund.status, refund.attempts, refund.method) == ("requested", 1, "alipay")
    assert "unreachable" in refund.last_error
    assert load_order(app, paid_number).state == "refunded"  # no data is added while it is paid back
    app.config["PUBLIC_BASE_URL"] = live_server
    with app.app_context():
        db.session.execute(update(Refund).values(next_attempt_at=utcnow()))
        db.session.commit()
        assert jobs.run_once()["refunds"] == 1
    (refund,) = refunds_of(app, paid_number)
    assert (refund.status, refund.attempts) == ("done", 2) and refunded_at_gateway(app, paid_number) == 5800
    assert gateway_refunds == [True]
