"""An agent cannot refund; they ask a supervisor, who approves (the refund is made) or rejects it.

- Asked: the amount and reason are checked as a refund is (rules.staff.staff_refunds.check): not more than is
  left to refund at that moment. The request waits as `pending`.
- Approved: one conditional UPDATE (… WHERE id = :id AND status = 'pending') decides; only the supervisor
  whose UPDATE changed the row goes on to the refund, through staff_refunds.refund with a request id derived
  from the request row, in the same transaction. If someone refunded the order meanwhile and the amount no
  longer fits, the refund is refused and the session rolled back: the request stays pending (reject it).
- Rejected: the same conditional UPDATE, with the supervisor's reason; the order is unchanged.
- Decided by someone else first (two supervisors at once, a double click): the UPDATE changes no row, nothing
  is written and RequestRefused says who decided what ("Another supervisor already rejected this request").
Lock order: the request row, then (for a refund) the order row; nothing takes them the other way round.
The caller writes the audit entry with the before/after returned here, and commits.
"""

from dataclasses import dataclass, field
from typing import cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult

from extensions import db
from models import Order, RefundRequest, utcnow
from rules.ordering import orders
from rules.staff import actors, staff_refunds

MAX_REASON = staff_refunds.MAX_REASON
LIMIT = 50


class RequestRefused(ValueError):
    """Nothing changed; str() is a message for people."""


@dataclass
class Decision:
    request: RefundRequest
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)
    refund: staff_refunds.StaffRefund | None = None


def snapshot(request: RefundRequest) -> dict:
    return {
        "request": request.id,
        "status": request.status,
        "amount_cents": request.amount_cents,
        "reason": request.reason,
        "requested_by": request.requested_by.username if request.requested_by else None,
    }


def refund_request_id(request: RefundRequest) -> str:
    """The refund's request id: one per request row, so the refund is made once however often it is approved."""
    return f"ask-{request.id:08d}"


def pending(order: Order | None = None) -> list[RefundRequest]:
    """Requests waiting for a supervisor, oldest first (all of them, or one order's)."""
    query = select(RefundRequest).where(RefundRequest.status == "pending")
    if order is not None:
        query = query.where(RefundRequest.order_id == order.id)
    return list(db.session.scalars(query.order_by(RefundRequest.created_at, RefundRequest.id).limit(LIMIT)))


def find(order: Order, request_id: str | None) -> RefundRequest | None:
    text = (request_id or "").strip()
    if not (text.isascii() and text.isdigit() and len(text) < 10):
        return None
    request = db.session.get(RefundRequest, int(text))
    return request if request is not None and request.order_id == order.id else None


def ask(order: Order, amount_text: str, reason: str, actor) -> Decision:
    """An agent (or anyone above) asks for a refund. Raises RequestRefused with nothing changed."""
    actors.require(actor, "agent")
    try:
        cents, reason = staff_refunds.check(order, amount_text, reason)
    except staff_refunds.RefundRefused as error:
        raise RequestRefused(str(error)) from None
    request = RefundRequest(order_id=order.id, amount_cents=cents, reason=reason, requested_by_id=actor.id)
    request.requested_by = actor
    request.status = "pending"
    db.session.add(request)
    db.session.flush()
    return Decision(request, {"request": None, "left_cents": staff_refunds.left_to_refund(order)}, snapshot(request))


def approve(order: Order, request: RefundRequest, actor) -> Decision:
    """Decide and refund what was asked, in the caller's transaction. Raises RequestRefused (decided already:
    nothing written; or the amount no longer fits: the session is rolled back)."""
    username = actors.require(actor, "supervisor")
    before = {**snapshot(request), **staff_refunds.snapshot(order)}
    amount = f"{request.amount_cents // 100}.{request.amount_cents % 100:02d}"
    orders.lock(order)  # the order before its request and refund: the lock order (rules/__init__)
    _decide(request, "approved", actor)  # the first write: on SQLite it waits for the other decision's commit
    try:
        result = staff_refunds.refund(order, amount, refund_request_id(request), request.reason, actor)
    except staff_refunds.RefundRefused as error:
        db.session.rollback()  # the decision with it: the request stays pending
        raise RequestRefused(str(error)) from None
    after = {**snapshot(request), **result.after, "decided_by": username}
    return Decision(request, before, after, result)


def reject(order: Order, request: RefundRequest, reason: str, actor) -> Decision:
    """Say no, with a reason; the order is unchanged. Raises RequestRefused."""
    username = actors.require(actor, "supervisor")
    reason = " ".join((reason or "").split())
    if not reason:
        raise RequestRefused(_l("Say why the refund is not made."))
    if len(reason) > MAX_REASON:
        raise RequestRefused(_l("Keep the reason under %(count)s characters.", count=MAX_REASON))
    before = snapshot(request)
    _decide(request, "rejected", actor, reason)
    return Decision(request, before, {**snapshot(request), "decided_by": username, "decision_reason": reason})


def _decide(request: RefundRequest, status: str, actor, reason: str | None = None) -> None:
    """pending → `status`, only if still pending; else RequestRefused saying who decided first."""
    decided = db.session.execute(
        update(RefundRequest)
        .where(RefundRequest.id == request.id, RefundRequest.status == "pending")
        .values(status=status, decided_by_id=actor.id, decided_at=utcnow(), decision_reason=reason)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(request)
    if cast(CursorResult, decided).rowcount != 1:
        raise RequestRefused(_decided_message(request, actor))


def _decided_message(request: RefundRequest, actor) -> str:
    mine = request.decided_by_id == actor.id
    if request.status == "approved":
        return str(
            _l("You approved this request already.")
            if mine
            else _l("Another supervisor already approved this request.")
        )
    if request.status == "rejected":
        return str(
            _l("You rejected this request already.")
            if mine
            else _l("Another supervisor already rejected this request.")
        )
    return str(_l("This request changed meanwhile. Look again."))
