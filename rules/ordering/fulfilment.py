"""After payment: the confirmation SMS (once) and the data on the card (retried, then handed to staff).

A paid order is never lost: when the carrier fails, the job retries with growing pauses; after
MAX_FULFIL_ATTEMPTS failures the order moves to needs_attention (the job stops; staff retry or refund).
With CARRIER=manual a paid order moves to to_add_by_hand at once, and staff record the data they added.
"""

import logging
from datetime import timedelta
from typing import cast

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, text, update
from sqlalchemy.engine import CursorResult

from extensions import db
from gateways import carrier, sms
from models import CardPack, Order, OrderTransition, utcnow
from rules.ordering import guest_topup, orders, start_modes
from rules.ordering.order_states import OrderState
from rules.payments import method_names
from rules.text import formatting, locales

log = logging.getLogger(__name__)
MAX_FULFIL_ATTEMPTS = 5
# The states a staff retry starts from: a paid order (the job's turn has not come) or one given up on.
RETRYABLE = frozenset({OrderState.PAID, OrderState.NEEDS_ATTENTION})
# A claimed order is not picked again before this (a worker that died mid-call is retried after it);
# longer than any carrier call takes.
LEASE = timedelta(minutes=2)
WAKE_CHANNEL = "roamrenew_jobs"  # jobs.work LISTENs on it


def queue_confirmation(order: Order) -> None:
    """The "paid" SMS to the card's number, in the traveller's language, never twice."""
    sms.queue(order.card.msisdn, confirmation_body(order), "order_paid", dedupe_key=f"order_paid:{order.number}")


def confirmation_body(order: Order) -> str:
    """The "paid" SMS's text, in the traveller's language (staff may send it again)."""
    with force_locale(order.locale):
        body = _(
            "RoamRenew: order %(number)s paid, %(amount)s with %(method)s. %(plan)s is being added to %(phone)s.",
            number=order.number,
            amount=formatting.money(order.total_cents, order.currency),
            method=method_names.of_order(order),
            plan=locales.localized_name(order.plan),
            phone=formatting.mask_phone(order.card.msisdn),
        )
        body += " " + start_sentence(order)
        if order.account_id is None:  # no account to find it in: the link is the guest's way back
            body += " " + _("Receipt: %(url)s", url=guest_topup.receipt_url(order))
        return body


def start_sentence(order: Order) -> str:
    """When the pack runs, in the current locale; a pack started now also says the old one ends."""
    start, end = formatting.hk_time(order.validity_start), formatting.hk_time(order.validity_end)
    if order.start_mode == start_modes.NOW:
        return _("Valid %(start)s to %(end)s (HK time); any pack running before it ends then.", start=start, end=end)
    return _("Valid %(start)s to %(end)s (HK time).", start=start, end=end)


def _claim(order: Order) -> int | None:
    """Only one worker or request adds the data for this order at a time: one conditional UPDATE that
    counts the attempt and takes a lease (next_check_at), committed before the carrier is called. The
    first claim also queues the "paid" SMS, so the notification that paid the order writes no more
    than the payment.

    The attempt number claimed, or None when another worker or request moved the order first.
    """
    seen_state, seen_attempts = order.state, order.fulfil_attempts
    claimed = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.state == seen_state, Order.fulfil_attempts == seen_attempts)
        .values(fulfil_attempts=seen_attempts + 1, next_check_at=utcnow() + LEASE)
        .execution_options(synchronize_session=False)
    )
    if not cast(CursorResult, claimed).rowcount:
        db.session.rollback()
        log.info("order %s: another worker is adding its data", order.number)
        return None
    if seen_attempts == 0:
        queue_confirmation(order)  # never twice: its dedupe key
    db.session.commit()
    return seen_attempts + 1


def fulfil(order: Order, cause: str) -> bool:
    """Add the data for a paid order; on failure schedule a retry, or after the last one hand it to
    staff. True once the data is on the card. Commits: claim, commit, carrier call (no transaction
    writing), then the outcome in a short conditional transaction."""
    if order.state != OrderState.PAID:
        return order.state == OrderState.FULFILLED
    return _add_data(order, cause)


def retry(order: Order, cause: str = "staff", staff_id: int | None = None) -> bool:
    """Try once more now, for a paid order or one in needs_attention (staff's retry; `staff_id` is
    written on the transition it makes). Commits as fulfil()."""
    if order.state not in RETRYABLE:
        raise orders.IllegalTransition(f"order {order.number} is {order.state}: only paid or needs_attention")
    return _add_data(order, cause, staff_id)


def _add_data(order: Order, cause: str, staff_id: int | None = None) -> bool:
    claimed_from = order.state
    attempt = _claim(order)
    if attempt is None:
        return order.state == OrderState.FULFILLED
    try:
        carrier.carrier().add_data(order)  # no write open: a slow carrier holds no lock
    except carrier.WaitsForStaff as reason:
        return _record(order, claimed_from, attempt, _waits_for_staff, cause, reason, staff_id)
    except carrier.CarrierUnavailable as error:
        return _record(order, claimed_from, attempt, _failed, cause, error, staff_id)
    return _record(order, claimed_from, attempt, _added, cause, None, staff_id)


def _record(
    order: Order, claimed_from: str, attempt: int, outcome, cause: str, error: Exception | None, staff_id: int | None
) -> bool:
    """The outcome of one carrier call, in its own short transaction, only if the order is still as we
    claimed it (state and attempt): otherwise someone else got there, and their word stands."""
    db.session.rollback()  # end the read the carrier call may have opened; the order is read afresh
    if order.state != claimed_from or order.fulfil_attempts != attempt:
        log.warning(
            "order %s moved on during its carrier call (now %s); outcome not recorded", order.number, order.state
        )
        return order.state == OrderState.FULFILLED
    try:
        with db.session.no_autoflush:  # keeps the new transition in session.new until named below
            done = outcome(order, cause, attempt, error)
        for row in db.session.new:  # the transition just made names the staff member who asked
            if staff_id is not None and isinstance(row, OrderTransition) and row.order is order:
                row.staff_id = staff_id
    except orders.IllegalTransition as error:
        db.session.rollback()
        log.warning("order %s: %s; outcome not recorded", order.number, error)
        return order.state == OrderState.FULFILLED
    db.session.commit()
    return done


def _added(order: Order, cause: str, attempt: int, error: Exception | None) -> bool:
    orders.transition(order, OrderState.FULFILLED, cause, {"attempt": attempt})  # conditional on the state
    order.next_check_at = None
    record_pack(order)
    return True


def _waits_for_staff(order: Order, cause: str, attempt: int, reason: Exception) -> bool:
    if order.state == OrderState.PAID:
        orders.transition(order, OrderState.TO_ADD_BY_HAND, cause, {"carrier": str(reason)})
    order.next_check_at = None
    return False


def _failed(order: Order, cause: str, attempt: int, error: Exception) -> bool:
    log.warning("adding data for order %s failed (attempt %s): %s", order.number, attempt, error)
    if order.state == OrderState.NEEDS_ATTENTION:
        _next_check(order, attempt, None)
        return False  # a staff retry failed: it stays with staff
    if attempt < MAX_FULFIL_ATTEMPTS:
        _next_check(order, attempt, utcnow() + carrier.retry_delay(attempt))
        return False
    details = {"reason": "carrier_failed", "attempts": attempt, "last_error": str(error)[:200]}
    orders.transition(order, OrderState.NEEDS_ATTENTION, cause, details)
    order.next_check_at = None
    return False


def _next_check(order: Order, attempt: int, when) -> None:
    """When to try again, only if the order is still as this attempt left it (zero rows: moved on)."""
    moved = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.state == order.state, Order.fulfil_attempts == attempt)
        .values(next_check_at=when)
        .execution_options(synchronize_session=False)
    )
    if not cast(CursorResult, moved).rowcount:
        log.warning("order %s moved on during its carrier call; next try not set", order.number)


def record_pack(order: Order) -> None:
    """Our own record of the order's pack on its card, once per order whoever added it (the carrier's
    adapter, or staff by hand); called in the transaction that records the data as added.

    The carrier's rule for a pack started now (order.start_mode "now"): it replaces the pack running at
    its start, which ends right then (data left on it is gone); packs queued for later keep their dates.
    """
    if db.session.scalar(select(CardPack.id).where(CardPack.order_id == order.id)):
        return  # already added: a retry after a lost answer must not add it twice
    if order.start_mode == start_modes.NOW:
        replaced = select(CardPack).where(
            CardPack.card_id == order.card_id,
            CardPack.starts_at < order.validity_start,
            CardPack.ends_at > order.validity_start,
        )
        for pack in db.session.scalars(replaced):
            pack.ends_at = order.validity_start
    db.session.add(
        CardPack(
            card_id=order.card_id,
            order_id=order.id,
            data_mb=order.plan.data_mb,
            starts_at=order.validity_start,
            ends_at=order.validity_end,
        )
    )


def wake_worker() -> None:
    """Wake the job worker at this transaction's commit (PostgreSQL NOTIFY; SQLite's worker polls)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text(f"SELECT pg_notify('{WAKE_CHANNEL}', '')"))


def added_by_hand(order: Order, cause: str = "staff", details: dict | None = None) -> None:
    """Staff added the data themselves (CARRIER=manual, or after the carrier gave up): record the pack,
    and the order is fulfilled. The caller commits."""
    if order.state not in (OrderState.TO_ADD_BY_HAND, OrderState.NEEDS_ATTENTION):
        raise orders.IllegalTransition(f"order {order.number} is {order.state}: nothing to add by hand")
    record_pack(order)
    orders.transition(order, OrderState.FULFILLED, cause, {"by_hand": True, **(details or {})})
