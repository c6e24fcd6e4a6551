"""The notification answers once the payment is recorded; the job worker adds the data, woken at once,
with no lock held while the carrier answers (a slow carrier costs a worker, never a request)."""

import threading
import time

import pytest
from conftest import load_order, make_order, run_jobs
from sqlalchemy import func, select
from test_notifications import NOTIFY, notification, paid_transitions, sms_count

import jobs
from extensions import db
from models import CardPack
from sandbox import carrier_sim
from sandbox.models import SandboxSetting

SLOW = 2.0  # seconds: long enough that a loaded machine does not blur "at once" and "after the carrier"


def carrier_slow(app, seconds=SLOW):
    app.config["CARRIER_SLOW_SECONDS"] = seconds
    with app.app_context():
        db.session.add(SandboxSetting(key=carrier_sim.MODE_KEY, value="slow"))
        db.session.commit()


def packs(app):
    with app.app_context():
        return db.session.scalar(select(func.count(CardPack.id)))


def test_a_notification_is_answered_at_once_while_the_carrier_is_slow_and_the_worker_adds_the_data(app, client):
    number = make_order(app)
    carrier_slow(app)
    started = time.monotonic()
    response = client.post(NOTIFY, data=notification(app, number))
    answered = time.monotonic() - started
    assert response.text == "success" and answered < SLOW / 2
    assert load_order(app, number).state == "paid" and packs(app) == 0
    started = time.monotonic()
    assert run_jobs(app)["fulfilled"] == 1
    assert time.monotonic() - started >= SLOW  # the worker waited for the carrier, not the request
    assert load_order(app, number).state == "fulfilled" and packs(app) == 1


def test_a_duplicate_notification_during_the_workers_carrier_call_credits_once(app, client):
    number = make_order(app)
    carrier_slow(app)
    params = notification(app, number)
    assert client.post(NOTIFY, data=params).text == "success"
    worker = threading.Thread(target=run_jobs, args=(app,))
    worker.start()
    time.sleep(SLOW / 4)  # the worker has claimed the order and is waiting on the carrier
    started = time.monotonic()
    assert app.test_client().post(NOTIFY, data=params).text == "success"
    assert time.monotonic() - started < SLOW / 2  # no lock held across the carrier call
    worker.join(timeout=10)
    assert paid_transitions(app, number) == 1 and sms_count(app) == 1 and packs(app) == 1
    order = load_order(app, number)
    assert order.state == "fulfilled" and order.fulfil_attempts == 1


@pytest.mark.postgresql_only
def test_four_payments_of_one_account_are_answered_at_once_and_two_workers_add_them_side_by_side(app):
    numbers = [make_order(app, plan_code="gba-3d", msisdn=f"+8526123{i:04d}") for i in range(4)]
    carrier_slow(app)
    answers, times = [], []
    params = [notification(app, number, trade_no=f"202611252200140000001{i}") for i, number in enumerate(numbers)]
    start = threading.Barrier(4)

    def deliver(one):
        the_client = app.test_client()
        start.wait(timeout=10)
        began = time.monotonic()
        answers.append(the_client.post(NOTIFY, data=one).text)
        times.append(time.monotonic() - began)

    threads = [threading.Thread(target=deliver, args=(one,)) for one in params]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert answers == ["success"] * 4 and max(times) < SLOW / 2
    began = time.monotonic()
    stop = threading.Event()
    workers = [threading.Thread(target=_work, args=(app, stop)) for _ in range(2)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + 10
    while packs(app) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    took = time.monotonic() - began
    stop.set()
    for worker in workers:
        worker.join(timeout=10)
    assert packs(app) == 4 and {load_order(app, n).state for n in numbers} == {"fulfilled"}
    assert took < 3 * SLOW  # two at a time: about two slow periods, not four in a row


@pytest.mark.postgresql_only
def test_the_worker_wakes_on_notify_and_adds_the_data_within_a_second(app, client):
    stop = threading.Event()
    worker = threading.Thread(target=_work, args=(app, stop, 30.0))
    worker.start()
    try:
        time.sleep(0.5)  # the worker's first round is done: it waits up to 30 s
        number = make_order(app)
        began = time.monotonic()
        assert client.post(NOTIFY, data=notification(app, number)).text == "success"
        while load_order(app, number).state != "fulfilled" and time.monotonic() - began < 5:
            time.sleep(0.02)
        assert load_order(app, number).state == "fulfilled" and time.monotonic() - began < 1
    finally:
        stop.set()
        worker.join(timeout=5)


def _work(app, stop, sleep=0.2):
    with app.app_context():
        jobs.work(sleep, stop)
