"""Refunds staff make (supervisors): in full or in part, once per confirmation, never more than was paid.

- Once: the confirmation form carries a random request id (new_request_id(), made when the step is
  shown); the refund's out_request_no is derived from it and is unique, so a double click, a retry or
  a second worker finds the first refund instead of making another. Every provider is idempotent by
  out_request_no too, so a repeated gateway call never pays twice either.
- Never more than paid: Order.refunded_cents (done + requested refunds of the order's own payment)
  grows by one conditional UPDATE (… WHERE refunded_cents + amount <= total_cents), which takes the
  order's row lock on PostgreSQL and the database lock on SQLite: concurrent refunds add up or are refused.
- The order moves to `refunded` once all of it is being paid back (so no data is added meanwhile); a
  partial refund leaves its state. The money goes back the way it came: the refund's method is the order's
  payment method, whose provider is asked at once after the commit (StaffRefund.after_commit); one the
  gateway refuses or cannot be reached for stays `requested`, with its last error, and the jobs worker
  retries it (rules.payments.refunds). Counter payments are handed back at the counter: recorded `done`,
  method `counter`, never sent to a provider.
- The traveller is texted every refund once it is done, in the order's language (refunds.tell_traveller):
  a row in the SMS outbox, sent by the job worker after the commit, never during the request.

Use (a view):
    result = staff_refunds.refund(order, amount_text, request_id, reason, actor)   # RefundRefused
    audit.record(actor, "order.refund", order, result.before, result.after, reason)
    db.session.commit()
    result.after_commit()
"""

import re
import secrets
from dataclasses import dataclass, field
from typing import cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError

from extensions import db
from gateways import providers
from models import Order, Refund, utcnow
from rules.ordering import orders
from rules.ordering.order_states import REFUNDABLE, STATE_NAMES, OrderState
from rules.payments import refunds
from rules.payments.method_names import method_name
from rules.staff import actors
from rules.text import money_text
from rules.text.formatting import money

REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{8,40}")
MAX_REASON = 200


class RefundRefused(ValueError):
    """Nothing was refunded; str() is a message for people."""


@dataclass
class StaffRefund:
    refund: Refund
    duplicate: bool  # this request id had been refunded before: nothing new happened
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)

    def after_commit(self) -> None:
        """Ask the payment's provider now (after the caller's commit); if it fails the jobs worker retries."""
        if self.refund.status != "done":  # a counter refund is done when recorded: nobody to ask
            refunds.attempt_now(self.refund.out_request_no)


def new_request_id() -> str:
    """For the confirmation form: one refund per id, however often the form is sent."""
    return secrets.token_urlsafe(12)


def request_no(order: Order, request_id: str) -> str:
    return f"{order.number}-S{request_id}"


def left_to_refund(order: Order) -> int:
    return order.total_cents - order.refunded_cents


def is_counter(order: Order) -> bool:
    return (order.payment_method or "").startswith("counter:")


def online_method(order: Order) -> str:
    """The method the order's own payment came by (orders paid before methods were recorded: Alipay's)."""
    return order.payment_method or providers.DEFAULT_METHOD


def snapshot(order: Order) -> dict:
    return {"state": str(order.state), "refunded_cents": order.refunded_cents, "total_cents": order.total_cents}


def refund(order: Order, amount_text: str, request_id: str, reason: str, actor) -> StaffRefund:
    """Record a refund of `amount_text` of `order`; the caller writes the audit entry, commits, then calls
    after_commit(). Raises RefundRefused (or actors.NotAllowed) with nothing changed."""
    username = actors.require(actor, "supervisor")
    if not REQUEST_ID.fullmatch(request_id or ""):
        raise RefundRefused(_l("This form is out of date. Open the refund again."))
    number = request_no(order, request_id)
    existing = _existing(number)
    if existing is not None:
        return StaffRefund(existing, True, snapshot(order), snapshot(order))
    cents, reason = _check(order, amount_text, reason)
    orders.lock(order)  # before the refund row: the lock order (rules/__init__)
    before = snapshot(order)
    counter = is_counter(order)
    row = Refund(
        order_id=order.id,
        out_request_no=number,
        amount_cents=cents,
        reason=reason,
        status="done" if counter else "requested",
        done_at=utcnow() if counter else None,
        trade_no=None if counter else order.trade_no,
        method=refunds.COUNTER if counter else online_method(order),
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()  # a concurrent twin with this request id waits here, then fails
            if not _take(order, cents):
                raise _NoRoom
    except IntegrityError:
        existing = _existing(number)
        if existing is None:
            raise
        return StaffRefund(existing, True, before, snapshot(order))
    except _NoRoom:
        db.session.refresh(order)
        raise RefundRefused(_left_message(order)) from None
    db.session.refresh(order)
    if counter:  # handed back already: the text is queued with it (an online one's once its provider confirms)
        refunds.tell_traveller(order, row)
    if order.refunded_cents == order.total_cents:
        _to_refunded(order, {"staff": username, "refund": number, "amount_cents": cents, "reason": reason})
    after = {**snapshot(order), "refund": number, "amount_cents": cents, "method": row.method, "reason": reason}
    return StaffRefund(row, False, before, after)


class _NoRoom(Exception):
    pass


def _to_refunded(order: Order, details: dict) -> None:
    """Fully refunded: no data is added any more. The fulfilment job may move a paid order to fulfilled
    at this very moment; transition() then refreshes it, and fulfilled → refunded is tried once more."""
    try:
        orders.transition(order, OrderState.REFUNDED, "staff", details)
    except orders.IllegalTransition:
        if order.state not in REFUNDABLE:
            raise
        orders.transition(order, OrderState.REFUNDED, "staff", details)


def _existing(number: str) -> Refund | None:
    return db.session.scalars(select(Refund).where(Refund.out_request_no == number)).first()


def check(order: Order, amount_text: str, reason: str) -> tuple[int, str]:
    """What refund() checks before anything changes: (cents, tidied reason), or RefundRefused."""
    return _check(order, amount_text, reason)


def _check(order: Order, amount_text: str, reason: str) -> tuple[int, str]:
    if order.state == OrderState.REFUNDED:
        raise RefundRefused(_left_message(order))
    if order.state not in REFUNDABLE:
        raise RefundRefused(
            _l("Only a paid order can be refunded. This one is: %(state)s.", state=STATE_NAMES[OrderState(order.state)])
        )
    if not is_counter(order) and not order.trade_no:
        raise RefundRefused(
            _l("This order has no %(method)s payment to refund.", method=method_name(online_method(order)))
        )
    try:
        cents = money_text.to_cents(amount_text)
    except money_text.AmountRefused as error:
        raise RefundRefused(str(error)) from None
    if cents == 0:
        raise RefundRefused(_l("The amount must be more than zero."))
    if cents > left_to_refund(order):
        raise RefundRefused(_left_message(order))
    reason = " ".join((reason or "").split())
    if not reason:
        raise RefundRefused(_l("Say why this is refunded."))
    if len(reason) > MAX_REASON:
        raise RefundRefused(_l("Keep the reason under %(count)s characters.", count=MAX_REASON))
    return cents, reason


def _left_message(order: Order) -> str:
    left = left_to_refund(order)
    if left <= 0 or order.state == OrderState.REFUNDED:
        return str(_l("This order has been refunded in full already."))
    return str(_l("At most %(amount)s is left to refund.", amount=money(left, order.currency)))


def _take(order: Order, cents: int) -> bool:
    taken = db.session.execute(
        update(Order)
        .where(
            Order.id == order.id,
            Order.state.in_(REFUNDABLE),
            Order.refunded_cents + cents <= Order.total_cents,
        )
        .values(refunded_cents=Order.refunded_cents + cents)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult, taken).rowcount == 1
