"""What waits for staff on their home page, oldest first, each with its age.

- orders: paid, data not added (needs_attention: the carrier gave up; to_add_by_hand: no carrier API);
- late payments: money that reached an order which could not take it, refunded automatically
  (paid_after_cancel, paid_after_expiry, second_payment), open ones and those done lately;
- refunds the gateway has not confirmed yet (any other refund not done);
- notifications refused because the amount or the order did not match, lately.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from extensions import db
from models import Order, PaymentNotification, Refund, utcnow
from rules.ordering import order_states
from rules.staff import refund_requests

LATE_REASONS = ("paid_after_cancel", "paid_after_expiry", "second_payment")
REFUSED_OUTCOMES = ("amount_mismatch", "bad_amount", "unknown_order")  # bad_amount: unreadable, or another currency
RECENT = timedelta(days=14)  # how long a settled item (a done late refund, a refused notification) stays shown
LIMIT = 50


@dataclass
class Item:
    """One line of a queue: the row, the order it concerns (if known), and since when it waits."""

    row: Any
    order: Order | None
    since: datetime

    def age(self, now: datetime | None = None) -> timedelta:
        return (now or utcnow()) - self.since


def orders_waiting() -> list[Item]:
    rows = db.session.scalars(
        select(Order)
        .where(Order.state.in_(order_states.WAITING_FOR_STAFF))
        .order_by(Order.paid_at, Order.id)
        .limit(LIMIT)
    )
    return [Item(order, order, order.paid_at or order.created_at) for order in rows]


def late_payments(now: datetime | None = None) -> list[Item]:
    since = (now or utcnow()) - RECENT
    rows = db.session.scalars(
        select(Refund)
        .where(Refund.reason.in_(LATE_REASONS), or_(Refund.status != "done", Refund.created_at > since))
        .order_by(Refund.created_at, Refund.id)
        .limit(LIMIT)
    )
    return [Item(refund, refund.order, refund.created_at) for refund in rows]


def refunds_unconfirmed() -> list[Item]:
    rows = db.session.scalars(
        select(Refund)
        .where(Refund.status != "done", or_(Refund.reason.is_(None), Refund.reason.not_in(LATE_REASONS)))
        .order_by(Refund.created_at, Refund.id)
        .limit(LIMIT)
    )
    return [Item(refund, refund.order, refund.created_at) for refund in rows]


def refused_notifications(now: datetime | None = None) -> list[Item]:
    since = (now or utcnow()) - RECENT
    rows = list(
        db.session.scalars(
            select(PaymentNotification)
            .where(PaymentNotification.outcome.in_(REFUSED_OUTCOMES), PaymentNotification.received_at > since)
            .order_by(PaymentNotification.received_at, PaymentNotification.id)
            .limit(LIMIT)
        )
    )
    numbers = {row.out_trade_no for row in rows if row.out_trade_no}
    by_number = {o.number: o for o in db.session.scalars(select(Order).where(Order.number.in_(numbers)))}
    return [Item(row, by_number.get(row.out_trade_no or ""), row.received_at) for row in rows]


def all_queues() -> dict[str, list[Item]]:
    """Every queue by name, for the staff home."""
    return {
        "orders": orders_waiting(),
        "late_payments": late_payments(),
        "refunds": refunds_unconfirmed(),
        "notifications": refused_notifications(),
        "refund_requests": [Item(r, r.order, r.created_at) for r in refund_requests.pending()],
    }
