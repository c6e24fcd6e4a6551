"""Orders paid by Alipay, WeChat Pay and card end as data once or a full refund, per method, while the
job worker and gunicorn workers are killed with SIGKILL and the carrier answers slowly part of the time.

A small run of bench/chaos.py: the site under gunicorn (2 workers) with its job worker, as `make run`
serves it, on the test database (SQLite, or PostgreSQL with TEST_DATABASE_URL).
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
import chaos

ORDERS_PER_METHOD = 7  # the first seven scenarios: paid normally, dropped, repeated, reordered, late; cancels


@pytest.fixture
def empty_database(app):
    """The migrated test database's address; the `app` fixture empties it afterwards."""
    return app.config["SQLALCHEMY_DATABASE_URI"]


def test_no_payment_is_lost_doubled_or_stuck_per_method_when_workers_are_killed(empty_database):
    run, books, left = chaos.chaos_run(empty_database, ORDERS_PER_METHOD)

    report = chaos.table(books)
    assert left == {}, f"still under way: {left}\n{report}"
    assert run.kills["job worker"] >= 1 and run.kills["gunicorn worker"] >= 1, run.kills
    assert not [status for status in run.statuses if status >= 500], run.statuses
    for method, ledger in books.items():
        assert ledger.orders == ORDERS_PER_METHOD, (method, report)
        assert ledger.paid >= 4, (method, report)  # at least the scenarios that pay and never cancel first
        assert (ledger.doubled, ledger.stuck) == (0, 0), (method, ledger.problems)
        assert ledger.added_once + ledger.refunded + ledger.in_staff_queue == ledger.paid, (method, report)
    # The Alipay cashier kept from before the cancel still takes the money (no trade existed to close):
    # when its Pay went through, that payment is refunded in full, here and at Alipay.
    cancelled = {number for number, step, _status in run.steps if step == "cancel"}
    alipay = {number for method, number in run.orders if method == "alipay"} & cancelled
    paid_after_cancel = [
        number for number, step, status in run.steps if number in alipay and step == "pay:normal" and status == 303
    ]
    assert books["alipay"].refunded >= min(1, len(paid_after_cancel)), (report, run.steps)
