"""The staff audit log: who did what to which order, what it was before and after, and why.

Append-only: this module only adds rows, and the models refuse any update or delete of one.
"""

import json
from typing import Any

from sqlalchemy import select

from extensions import db
from models import AuditEntry, Order, StaffUser


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def record(
    staff: StaffUser,
    action: str,
    order: Order | None = None,
    before: Any = None,
    after: Any = None,
    reason: str | None = None,
) -> AuditEntry:
    """Add one audit row (the caller commits, in the same transaction as the change it describes)."""
    entry = AuditEntry(
        staff_id=staff.id,
        username=staff.username,
        role=staff.role,
        action=action[:40],
        order_id=order.id if order is not None else None,
        before=_json(before),
        after=_json(after),
        reason=(reason or "").strip()[:500] or None,
    )
    db.session.add(entry)
    return entry


def for_order(order: Order) -> list[AuditEntry]:
    """The order's audit rows, oldest first."""
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.order_id == order.id).order_by(AuditEntry.id)))


def recent(limit: int = 50) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)))


def order_numbers(entries: list[AuditEntry]) -> dict[int, str]:
    """The order number of each entry's order, by order id."""
    ids = {entry.order_id for entry in entries if entry.order_id}
    return {row.id: row.number for row in db.session.execute(select(Order.id, Order.number).where(Order.id.in_(ids)))}


def loads(text: str | None) -> Any:
    return json.loads(text) if text else None
