"""An unpaid order marked paid: the payment's claim and the move to paid in one conditional UPDATE.

This is orders.transition() pending_payment → paid in the one statement a payment needs, for the
notification's hot path: the UPDATE names the state it expects and that no trade has paid the order
yet, so of many concurrent deliveries exactly one wins (PostgreSQL row lock, SQLite database lock;
the unique trade_no backs it up). Its timeline row is written beside it by a plain INSERT: no order
is loaded and nothing goes through the ORM's unit of work. The statements are built once, here.
"""

from sqlalchemy import ColumnElement, bindparam, insert, update

from extensions import db
from models import Order, OrderState, OrderTransition, TransitionCause, utcnow
from rules.ordering import orders

ORDERS = Order.__table__
PENDING, PAID = OrderState.PENDING_PAYMENT.value, OrderState.PAID.value
# What every payment writes to its order besides the trade, its method and when.
SETTLED = {
    "state": PAID,
    "pending_key": None,  # frees the card+plan slot for a new checkout
    "next_check_at": None,  # due for its data now
}


def _claim(which: ColumnElement[bool]):
    """The UPDATE that marks the unpaid, unclaimed order matching `which` paid, returning its id."""
    return (
        update(ORDERS)
        .where(which, ORDERS.c.state == PENDING, ORDERS.c.trade_no.is_(None))
        .values(
            **SETTLED,
            paid_at=bindparam("now"),  # an unpaid order was never paid before: nothing moves back to pending
            trade_no=bindparam("trade"),
            payment_method=bindparam("method"),
        )
        .returning(ORDERS.c.id)
    )


CLAIM_BY_ID = _claim(ORDERS.c.id == bindparam("order_id"))
# The notification's: the order of this number and amount (a wrong amount claims nothing).
CLAIM_BY_NUMBER = _claim((ORDERS.c.number == bindparam("order_number")) & (ORDERS.c.total_cents == bindparam("cents")))
# The same where the provider names the currency (WeChat Pay, Stripe): another currency claims nothing.
CLAIM_BY_NUMBER_IN = _claim(
    (ORDERS.c.number == bindparam("order_number"))
    & (ORDERS.c.total_cents == bindparam("cents"))
    & (ORDERS.c.currency == bindparam("in_currency"))
)
ADD_TRANSITION = insert(OrderTransition.__table__)


def by_id(order_id: int, trade_no: str, method: str, cause: str, details: dict) -> dict | None:
    """Mark order `order_id` paid by trade `trade_no` of payment method `method`, with its transition
    row; the caller commits. What was written to the order, or None when it was not unpaid and unclaimed."""
    return _mark(CLAIM_BY_ID, {"order_id": order_id}, trade_no, method, cause, details)


def by_number(
    number: str, total_cents: int, trade_no: str, method: str, cause: str, details: dict, currency: str | None = None
) -> dict | None:
    """As by_id, for the unpaid order numbered `number` if its total is `total_cents` (in `currency`,
    where the provider names one)."""
    which = {"order_number": number, "cents": total_cents}
    if currency is None:
        return _mark(CLAIM_BY_NUMBER, which, trade_no, method, cause, details)
    return _mark(CLAIM_BY_NUMBER_IN, {**which, "in_currency": currency}, trade_no, method, cause, details)


def _mark(claim, which: dict, trade_no: str, method: str, cause: str, details: dict) -> dict | None:
    if cause not in orders.CAUSES:
        raise ValueError(f"unknown transition cause {cause!r}")
    now = utcnow()
    order_id = db.session.execute(claim, {**which, "now": now, "trade": trade_no, "method": method}).scalar()
    if order_id is None:
        return None  # someone else got there, or it ended, or (by number) the amount is not its own
    db.session.execute(
        ADD_TRANSITION,
        {
            "order_id": order_id,
            "from_state": PENDING,
            "to_state": PAID,
            "cause": TransitionCause(cause).value,
            "details": orders.details_text(details),
            "created_at": now,
        },
    )
    return {**SETTLED, "paid_at": now, "trade_no": trade_no, "payment_method": method}
