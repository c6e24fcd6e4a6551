"""Orders paid by Alipay, WeChat Pay and card end as data once or a full refund, per method, while the
job worker and gunicorn workers are killed with SIGKILL and the carrier answers slowly part of the time.

A small run of bench/chaos.py: the site under gunicorn (2 workers) with its job worker, as `make run`
serves it, on the test database (SQLite, or PostgreSQL with TEST_DATABASE_URL).
"""

import os
import sys

from sqlalchemy import func, select

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
import chaos

from extensions import db
from models import Order
from sandbox.models import SandboxTrade

ORDERS_PER_METHOD = 7  # the first seven scenarios: paid normally, dropped, repeated, reordered, late; cancels


def test_no_payment_is_lost_doubled_or_stuck_per_method_when_workers_are_killed(app):
    # The test database (SQLite, or PostgreSQL with TEST_DATABASE_URL), migrated; emptied afterwards.
    run, books, left = chaos.chaos_run(app.config["SQLALCHEMY_DATABASE_URI"], ORDERS_PER_METHOD)

    report = chaos.table(books)
    assert left == {}, f"still under way: {left}\n{report}"
    assert run.kills["job worker"] >= 1 and run.kills["gunicorn worker"] >= 1, run.kills
    assert not [status for status in run.statuses if status >= 500], run.statuses
    for method, ledger in books.items():
        assert ledger.orders == ORDERS_PER_METHOD, (method, report)
        assert ledger.paid >= 3, (method, report)  # most scenarios pay (a pay cut off three times does not)
        assert (ledger.doubled, ledger.stuck) == (0, 0), (method, ledger.problems)
        assert ledger.added_once + ledger.refunded + ledger.in_staff_queue == ledger.paid, (method, report)
    # An Alipay cashier kept from before the cancel still takes the money (no trade existed to close):
    # each cancelled order Alipay holds money for is refunded in full, here and at Alipay. (Whether the
    # cancel went through depends on the kills: one that cannot reach Alipay leaves the order payable.)
    assert books["alipay"].refunded == paid_after_cancelling(app), report


def paid_after_cancelling(app) -> int:
    """Orders cancelled on our side whose Alipay trade the sandbox says is paid."""
    with app.app_context():
        paid = select(SandboxTrade.out_trade_no).where(SandboxTrade.paid_at.is_not(None))
        query = select(func.count()).select_from(Order).where(Order.state == "cancelled", Order.number.in_(paid))
        return db.session.scalar(query) or 0
