"""Job workers side by side on one PostgreSQL: each row is claimed by one worker only."""

import threading
from datetime import timedelta

import pytest
from conftest import make_order
from sqlalchemy import func, select

import jobs
from extensions import db
from gateways import sms
from models import Order, OrderTransition, SmsMessage


def run_side_by_side(app, task, workers=2):
    """Run `task` in `workers` threads at once, each with its own app context and connection."""
    start = threading.Barrier(workers)
    results, errors = [], []

    def worker():
        with app.app_context():
            start.wait(timeout=10)
            try:
                results.append(task())
            except Exception as error:  # reported below: a worker must not fail
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return results


@pytest.mark.postgresql_only
def test_two_workers_send_each_queued_sms_exactly_once(app):
    with app.app_context():
        for i in range(60):
            sms.queue(f"+8526123{i:04d}", f"message {i}", "test")
        db.session.commit()
    sent = run_side_by_side(app, lambda: sms.send_queued(limit=60))
    assert sum(sent) == 60  # between them, every message once
    with app.app_context():
        attempts = db.session.scalars(select(SmsMessage.attempts)).all()
        assert attempts == [1] * 60


@pytest.mark.postgresql_only
def test_two_workers_expire_each_overdue_order_exactly_once(app, live_server):
    numbers = [
        make_order(app, plan_code=code, msisdn=f"+8526123{i:04d}")
        for i, code in enumerate(["hk-1d", "gba-1d", "gba-3d", "gba-7d", "trio-7d", "hk-30d"] * 2)
    ]
    with app.app_context():
        for order in db.session.scalars(select(Order)):
            order.pay_by -= timedelta(minutes=20)
        db.session.commit()
    done = run_side_by_side(app, jobs.expire_unpaid)
    assert sum(done) == len(numbers)
    with app.app_context():
        expired = db.session.scalar(select(func.count(OrderTransition.id)).where(OrderTransition.to_state == "expired"))
        assert expired == len(numbers)
        assert set(db.session.scalars(select(Order.state))) == {"expired"}


def test_a_queued_message_is_sent_once_even_if_the_job_runs_again(app):
    with app.app_context():
        sms.queue("+85261234567", "hello", "test")
        db.session.commit()
        assert sms.send_queued() == 1 and sms.send_queued() == 0
        assert db.session.scalars(select(SmsMessage)).one().status == "sent"


def test_a_message_with_the_same_dedupe_key_is_queued_once(app):
    with app.app_context():
        assert sms.queue("+85261234567", "paid", "order_paid", dedupe_key="order_paid:RR1") is not None
        assert sms.queue("+85261234567", "paid", "order_paid", dedupe_key="order_paid:RR1") is None
        db.session.commit()
        assert db.session.scalar(select(func.count(SmsMessage.id))) == 1


def test_a_failing_provider_is_retried_then_given_up(app):
    class Down(sms.SmsProvider):
        def send(self, to_phone, body):
            raise sms.SmsError("gateway timeout")

    app.extensions["sms_provider"] = Down()
    with app.app_context():
        sms.queue("+85261234567", "hello", "test")
        db.session.commit()
        for _ in range(sms.MAX_ATTEMPTS):
            sms.send_queued(limit=1)
        message = db.session.scalars(select(SmsMessage)).one()
        assert (message.status, message.attempts, message.last_error) == ("failed", 5, "gateway timeout")
