"""Unsigned posts to the notify URL: kept as a bounded sample, then only counted and refused.

Anyone can post to the notify URL. A signed notification is always handled and kept whole
(payment_events); one that fails the signature is junk or an attack. Of those, each sender (IP)
gets at most UNSIGNED_NOTIFICATIONS_PER_HOUR rows of at most SAMPLE_BYTES each; beyond that
nothing is stored, the last row's `repeats` counts them, and the answer is 429. The count lives in
the database, so the limit holds across workers and servers.
"""

from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update

from extensions import db
from models import NotificationOutcome, PaymentNotification, utcnow
from rules import turns

SAMPLE_BYTES = 2048
WINDOW = timedelta(hours=1)
# Not known to come from the provider: junk, a forgery or a replay.
UNSIGNED_OUTCOMES = (
    NotificationOutcome.MISSING_FIELDS,
    NotificationOutcome.BAD_SIGNATURE,
    NotificationOutcome.STALE,
    NotificationOutcome.UNDECRYPTABLE,
)


def _recent(ip: str | None):
    return (
        PaymentNotification.ip == ip if ip else PaymentNotification.ip.is_(None),
        PaymentNotification.outcome.in_(UNSIGNED_OUTCOMES),
        PaymentNotification.received_at > utcnow() - WINDOW,
    )


def record(out_trade_no: str | None, raw_body: str, ip: str | None, outcome: str, method: str) -> bool:
    """Keep a sample of one unsigned notification of payment method `method`; False when the sender
    is over its hourly limit.

    The row goes in first and the count includes it, senders of one address taking turns: of 40
    posts at once against a limit of 20, exactly 20 rows stay.
    """
    turns.take_turns(f"unsigned-notify-ip:{ip}")
    row = PaymentNotification(
        provider=method,
        out_trade_no=out_trade_no,
        body=raw_body[:SAMPLE_BYTES],
        outcome=outcome,
        ip=ip,
        received_at=utcnow(),
    )
    db.session.add(row)
    db.session.flush()
    kept = db.session.scalar(select(func.count(PaymentNotification.id)).where(*_recent(ip)))
    if kept > current_app.config["UNSIGNED_NOTIFICATIONS_PER_HOUR"]:
        db.session.delete(row)
        db.session.flush()
        last = select(func.max(PaymentNotification.id)).where(*_recent(ip)).scalar_subquery()
        db.session.execute(
            update(PaymentNotification)
            .where(PaymentNotification.id == last)
            .values(repeats=PaymentNotification.repeats + 1)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        return False
    db.session.commit()
    return True
