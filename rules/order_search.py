"""Staff order search: one box, understood as an order number, a phone number or a trade number.

A minimal version with the interface the staff pages use; the full search (ICCIDs, tails, indexes)
replaces it with the same signature.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from extensions import db
from models import Card, Order
from rules import orders, phones
from rules.formatting import HONG_KONG
from rules.order_states import ALL

MAX_TEXT = 64


@dataclass
class SearchPage:
    orders: list[Order] = field(default_factory=list)
    page: int = 1
    has_next: bool = False
    kind: str = "empty"


def _utc(day: date) -> datetime:
    """The start of a Hong Kong day, as stored (naive UTC)."""
    return datetime.combine(day, time(), HONG_KONG).astimezone(UTC).replace(tzinfo=None)


def _understand(text: str):
    number = orders.normalise_number(text)
    if number.startswith("RR") and len(number) >= 8 and number.replace("-", "").isalnum() and number.isascii():
        return "order_number", Order.number == number
    try:
        phone = phones.normalise(text)
    except phones.InvalidPhone:
        phone = None
    if phone:
        return "phone", Order.card_id.in_(select(Card.id).where(Card.msisdn == phone))
    compact = "".join(text.split())
    if compact.isascii() and compact.isalnum():
        return "trade_no", Order.trade_no == compact
    return "unknown", None


def search(
    text: str,
    state: str | None,
    date_from: date | None,
    date_to: date | None,
    page: int,
    per_page: int = 20,
) -> SearchPage:
    """Orders matching the box and the filters, newest first, one page at a time."""
    text = (text or "").strip()[:MAX_TEXT]
    page = max(1, min(page, 10_000))
    query = select(Order)
    kind = "empty"
    if text:
        kind, condition = _understand(text)
        if condition is None:
            return SearchPage(page=page, kind=kind)
        query = query.where(condition)
    if state in ALL:
        query = query.where(Order.state == state)
    if date_from:
        query = query.where(Order.created_at >= _utc(date_from))
    if date_to:
        query = query.where(Order.created_at < _utc(date_to + timedelta(days=1)))
    rows = list(
        db.session.scalars(
            query.order_by(Order.created_at.desc(), Order.id.desc()).offset((page - 1) * per_page).limit(per_page + 1)
        )
    )
    return SearchPage(orders=rows[:per_page], page=page, has_next=len(rows) > per_page, kind=kind)
