"""Automatic refunds of payments that reach an order which can no longer take them.

A signed cashier URL stays payable at the provider until it expires, whatever happened to the order
meanwhile: a traveller can keep it, cancel the order, and pay later (closing a trade that the provider
has not seen yet finds nothing to close), even by another method than the order names. Such money is
never kept: it is refunded in full, once, by the method it came by (Refund.method).

- late_payment() records the Refund in the caller's transaction. Its out_request_no is derived
  from the trade (`<trade_no>-late`) and is unique, so of many concurrent or repeated deliveries of
  the same payment exactly one row is created, and the gateway, which is idempotent by
  out_request_no, never pays it back twice even if asked twice.
- claim_next() counts the attempt and leases the refund, committed; attempt() then asks the gateway
  with no lock held and records its answer. On failure the refund stays `requested` with its last
  error and a next attempt time, and the jobs worker (jobs.retry_refunds, woken at once for a new
  one) tries again with backoff.
- Once done, one SMS (dedupe key per refund) tells the traveller, in their language; staff refunds
  (rules.staff.staff_refunds) are texted the same way.
"""

import logging
from datetime import timedelta
from typing import cast

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError

from extensions import db
from gateways import providers, sms
from gateways.payment_methods import GatewayError, PaymentProvider
from models import Account, NotificationOutcome, Order, OrderState, Refund, RefundReason, RefundStatus, utcnow
from rules.ordering.fulfilment import wake_worker
from rules.payments.method_names import method_name
from rules.text import formatting

log = logging.getLogger(__name__)
OPEN = ("requested", "failed")  # not confirmed by the gateway yet: retried until done
# A payment for an order in this state was made after the order ended.
LATE_REASONS = {
    OrderState.CANCELLED: RefundReason.PAID_AFTER_CANCEL,
    OrderState.EXPIRED: RefundReason.PAID_AFTER_EXPIRY,
}
SECOND_PAYMENT = RefundReason.SECOND_PAYMENT  # the order was already paid by another trade
# What the notification that brought the money is recorded as.
OUTCOMES = {
    RefundReason.PAID_AFTER_CANCEL: NotificationOutcome.REFUND_PAID_AFTER_CANCEL,
    RefundReason.PAID_AFTER_EXPIRY: NotificationOutcome.REFUND_PAID_AFTER_EXPIRY,
    RefundReason.SECOND_PAYMENT: NotificationOutcome.REFUND_SECOND_PAYMENT,
}
# Names for people (staff pages, the refunds CSV).
REFUND_STATUS = {
    RefundStatus.REQUESTED: _l("in progress"),
    RefundStatus.DONE: _l("refunded"),
    RefundStatus.FAILED: _l("failed, retrying"),
}
REFUND_REASONS = {
    RefundReason.PAID_AFTER_CANCEL: _l("paid after it was cancelled"),
    RefundReason.PAID_AFTER_EXPIRY: _l("paid after it expired"),
    RefundReason.SECOND_PAYMENT: _l("paid a second time"),
}
COUNTER = "counter"  # Refund.method of money handed back at a counter (never sent to a provider)
AT_THE_COUNTER = _l("At the counter")
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
# How long an attempt holds its refund: the gateway's timeout and the outcome's write, with room to spare.
LEASE = timedelta(minutes=2)


def request_no(trade_no: str) -> str:
    """The refund's out_request_no: one per trade, so any retry or duplicate names the same refund."""
    return f"{trade_no}-late"


def method_words(method: str) -> str:
    """A refund's way back in words: the payment method's name, or "At the counter"."""
    return str(AT_THE_COUNTER) if method == COUNTER else method_name(method)


def late_payment(order: Order, trade_no: str, method: str) -> NotificationOutcome:
    """Record the full refund of trade `trade_no` of payment method `method`, which paid `order` when
    it could not be paid: the money goes back by the method it came by, whatever the order names.

    Returns the outcome for the notification record: the refund's (REFUND_<reason>) when recorded
    now, DUPLICATE when this trade's refund was recorded before. The caller commits, then calls
    attempt_now() (or leaves it to the jobs worker).
    """
    number = request_no(trade_no)
    if db.session.scalar(select(Refund.id).where(Refund.out_request_no == number)) is not None:
        return NotificationOutcome.DUPLICATE
    reason = LATE_REASONS.get(OrderState(order.state), SECOND_PAYMENT)
    refund = Refund(
        order_id=order.id,
        out_request_no=number,
        amount_cents=order.total_cents,
        reason=reason,
        trade_no=trade_no,
        status="requested",
        method=method,
    )
    try:
        with db.session.begin_nested():  # a concurrent delivery may insert the same request number
            db.session.add(refund)
    except IntegrityError:
        return NotificationOutcome.DUPLICATE
    log.warning("order %s (%s): trade %s paid late, refund %s requested", order.number, order.state, trade_no, number)
    wake_worker()  # due at once: the job worker asks the gateway once this commits
    return OUTCOMES[reason]


def _retry_delay(attempts: int) -> timedelta:
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_RETRY)


def attempt(refund: Refund) -> bool:
    """Ask the gateway to pay back one refund claimed by claim_next(); the caller commits the outcome.

    True once the gateway confirms it (also when it answers that this request was refunded before).
    """
    order = refund.order
    number, reason = order.number, refund.reason or "refund"
    try:
        provider = _provider(refund)
        provider.refund(number, refund.amount_cents, refund.out_request_no, reason, trade_no=refund.trade_no)
    except GatewayError as error:
        refund.last_error = str(error)[:200]
        refund.next_attempt_at = utcnow() + _retry_delay(refund.attempts)
        log.warning("refund %s for order %s not done yet: %s", refund.out_request_no, number, error)
        return False
    done = db.session.execute(
        update(Refund)
        .where(Refund.id == refund.id, Refund.status.in_(OPEN))
        .values(status=RefundStatus.DONE, done_at=utcnow(), next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult, done).rowcount == 1:  # another attempt may have recorded it first: text once
        db.session.refresh(refund)
        tell_traveller(order, refund)
    return True


def _provider(refund: Refund) -> PaymentProvider:
    """The method the refunded money came by (never the order's: a late payment may have come by
    another). One not registered here (switched off in this deployment) is retried, never sent elsewhere."""
    try:
        return providers.provider(refund.method)
    except KeyError:
        raise GatewayError(f"payment method {refund.method!r} is not available here") from None


def claim_next(refund_id: int | None = None) -> Refund | None:
    """The next refund due for an attempt, claimed for this attempt, or None.

    The claim counts the attempt and leases the refund (next_attempt_at moved LEASE ahead) in one
    conditional UPDATE, committed before the gateway is called: no row lock is held while it answers
    (rules/__init__), and a refund another worker or request claimed is never attempted twice at once.
    """
    query = select(Refund).where(
        Refund.status.in_(OPEN), or_(Refund.next_attempt_at.is_(None), Refund.next_attempt_at <= utcnow())
    )
    if refund_id is not None:
        query = query.where(Refund.id == refund_id)
    for _race in range(3):  # lost races: the winner's lease takes the refund out of the next look
        refund = db.session.scalars(query.order_by(Refund.id).limit(1).with_for_update(skip_locked=True)).first()
        if refund is None:
            db.session.commit()
            return None
        claimed = db.session.execute(
            update(Refund)
            .where(Refund.id == refund.id, Refund.status.in_(OPEN), Refund.attempts == refund.attempts)
            .values(attempts=Refund.attempts + 1, next_attempt_at=utcnow() + LEASE)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if cast(CursorResult, claimed).rowcount == 1:
            return refund
    return None


def attempt_now(out_request_no: str) -> None:
    """Try a just-recorded refund at once (after the caller's commit); the job retries on failure."""
    refund_id = db.session.scalar(select(Refund.id).where(Refund.out_request_no == out_request_no))
    refund = claim_next(refund_id) if refund_id is not None else None
    if refund is not None:
        attempt(refund)
    db.session.commit()


def is_automatic(refund: Refund) -> bool:
    """Made by late_payment() (a payment that came too late, or twice), not by staff."""
    automatic = (*LATE_REASONS.values(), SECOND_PAYMENT)
    return refund.reason in automatic and refund.out_request_no == request_no(refund.trade_no or "")


def _sms_body(order: Order, refund: Refund) -> str:
    amount = formatting.money(refund.amount_cents, order.currency)
    method = method_name(refund.method)
    if not is_automatic(refund):
        # Staff's own reason stays inside: it may be a note for colleagues, not for the traveller.
        if refund.method == COUNTER:
            return _(
                "RoamRenew: %(amount)s for order %(number)s has been refunded to you at the counter.",
                amount=amount,
                number=order.number,
            )
        return _(
            "RoamRenew: we have refunded %(amount)s for order %(number)s, back to what you paid with: %(method)s.",
            amount=amount,
            number=order.number,
            method=method,
        )
    if refund.reason == "paid_after_cancel":
        return _(
            "RoamRenew: your payment of %(amount)s for order %(number)s arrived after you cancelled it. "
            "We have refunded it in full, back to what you paid with: %(method)s.",
            amount=amount,
            number=order.number,
            method=method,
        )
    if refund.reason == "paid_after_expiry":
        return _(
            "RoamRenew: your payment of %(amount)s for order %(number)s arrived after the order expired. "
            "We have refunded it in full, back to what you paid with: %(method)s.",
            amount=amount,
            number=order.number,
            method=method,
        )
    return _(
        "RoamRenew: order %(number)s was paid twice. We have refunded the second payment, %(amount)s, "
        "in full, back to what you paid with: %(method)s.",
        amount=amount,
        number=order.number,
        method=method,
    )


def tell_traveller(order: Order, refund: Refund) -> None:
    """One SMS per refund once it is done (queued in the caller's transaction, sent by the job worker),
    to the account that paid (else the card), in the order's language."""
    phone = db.session.scalar(select(Account.phone).where(Account.id == order.account_id)) or order.card.msisdn
    with force_locale(order.locale):
        body = _sms_body(order, refund)
    sms.queue(phone, body, "refund", dedupe_key=f"refund:{refund.out_request_no}"[:80])
