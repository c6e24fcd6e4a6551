"""Applying what the payment gateway says, exactly once, whatever order and however often it comes.

Only the gateway's signed word (an asynchronous notification, or its answer to a query) marks an
order paid; the browser's return never does. A payment that reaches an order which can no longer
take it (cancelled, expired, or paid by another trade) is refunded automatically (rules.payments.refunds).
"""

import logging
from enum import StrEnum

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm.attributes import set_committed_value

from extensions import db
from gateways import providers
from gateways.payment_methods import (
    NOT_A_PAYMENT,
    GatewayError,
    Incoming,
    Notification,
    NotificationRefused,
    PaymentProvider,
    Trade,
)
from models import NotificationOutcome, Order, PaymentNotification
from rules.ordering import fulfilment, marking_paid, orders
from rules.ordering.order_states import OrderState
from rules.payments import cashiers, gateway_log, refunds, unsigned_notifications

log = logging.getLogger(__name__)
# The notification's own statements, built once: plain INSERT and SELECT, nothing for the ORM to track.
KEEP = insert(PaymentNotification.__table__)
FIND = select(*(Order.__table__.c[name] for name in ("id", "total_cents", "currency", "trade_no"))).where(
    Order.__table__.c.number == bindparam("number")
)
PAID_STATUSES = {"TRADE_SUCCESS", "TRADE_FINISHED"}
PAID_OR_AFTER = {OrderState.PAID, OrderState.FULFILLED, OrderState.TO_ADD_BY_HAND, OrderState.NEEDS_ATTENTION}
# Outcomes answered `success`: the notification was taken in (Alipay stops sending it); any other is
# answered `fail`, and Alipay sends it again.
ANSWERED_SUCCESS = frozenset(
    {
        NotificationOutcome.PAID,
        NotificationOutcome.DUPLICATE,
        NotificationOutcome.IGNORED_STATUS,
        NotificationOutcome.NEEDS_STAFF,
        *refunds.OUTCOMES.values(),
    }
)


def apply_paid(
    order: Order, trade_no: str, cause: str, details: dict, method: str | None = None
) -> NotificationOutcome:
    """Mark `order` paid by trade `trade_no` of payment method `method` (by default the order's own)
    unless that was done already; the caller commits.

    The claim and the move to paid are one conditional UPDATE (rules.ordering.marking_paid), so of
    many concurrent deliveries exactly one wins, on PostgreSQL and SQLite alike.
    """
    method = method or providers.for_order(order).name
    if order.trade_no == trade_no:
        # A repeat of a payment already applied (trade_no is set once, never cleared): nothing to claim.
        return NotificationOutcome.DUPLICATE
    written = marking_paid.by_id(order.id, trade_no, method, cause, details)
    if written is None:
        db.session.refresh(order)
        return _not_claimed(order, trade_no, method)
    for name, value in written.items():
        set_committed_value(order, name, value)  # as written: no reload needed
    fulfilment.wake_worker()  # the worker sends the SMS and adds the data once this commits
    return NotificationOutcome.PAID


def _not_claimed(order: Order, trade_no: str, method: str) -> NotificationOutcome:
    """What a payment of `order` (as the database has it now) that could not be claimed comes to."""
    if order.trade_no == trade_no:
        return NotificationOutcome.DUPLICATE
    if order.state == OrderState.PENDING_PAYMENT:  # cannot happen: the claim would have matched
        log.error("order %s: payment %s could not be claimed (%s)", order.number, trade_no, order.state)
        return NotificationOutcome.NEEDS_STAFF
    # The money reached an order that is cancelled, expired or paid by another trade: it is
    # refunded in full, exactly once per trade (rules.payments.refunds); the order itself stays as it is.
    return refunds.late_payment(order, trade_no, method)


class Reception(StrEnum):
    """What came of a notification, for its answer."""

    ACCEPTED = "accepted"  # taken in: the provider may stop sending it
    REFUSED = "refused"  # kept, not applied; the provider sends it again (or it is junk)
    TOO_MANY = "too_many"  # unsigned, and its sender is over its hourly sample (answered 429)


def receive(incoming: Incoming, method: str, ip: str | None = None) -> Reception:
    """Verify (once) and apply one asynchronous notification of payment method `method`.

    Every signed notification is kept with its outcome, whatever it was; unsigned ones as a bounded
    sample per sender (rules.payments.unsigned_notifications). Commits.
    """
    provider = providers.provider(method)
    try:
        notification = provider.read_notification(incoming)
    except NotificationRefused as refused:
        return _refused(incoming, method, refused.outcome, ip)
    body = incoming.text[:20000]
    try:
        # Kept in the same transaction as what it did, written once with its outcome (one INSERT,
        # no UPDATE); the outcome is a local, so reading it after the commit costs no reload.
        outcome = _apply(notification, method)
        _keep(method, notification.out_trade_no, body, outcome, ip)
        db.session.commit()
    except Exception:  # keep the notification even when applying it failed; the gateway retries
        log.exception("payment notification for %s could not be applied", notification.out_trade_no)
        db.session.rollback()
        _keep(method, notification.out_trade_no, body, NotificationOutcome.ERROR, ip)
        db.session.commit()
        return Reception.REFUSED
    # Recorded: the data (and a late payment's refund) is the job worker's, woken by this commit.
    if outcome in ANSWERED_SUCCESS:
        return Reception.ACCEPTED
    log.warning("payment notification refused (%s) for %s", outcome, notification.out_trade_no)
    return Reception.REFUSED


def _refused(incoming: Incoming, method: str, outcome: NotificationOutcome, ip: str | None) -> Reception:
    out_trade_no = incoming.form.get("out_trade_no", "")[:64] or None
    if outcome in unsigned_notifications.UNSIGNED_OUTCOMES:
        if not unsigned_notifications.record(out_trade_no, incoming.text, ip, outcome, method):
            return Reception.TOO_MANY
        log.warning("unsigned payment notification (%s) from %s for %s", outcome, ip, out_trade_no)
        return Reception.REFUSED
    # Signed, but not for us (another merchant's app id, say): kept whole for staff.
    _keep(method, out_trade_no, incoming.text[:20000], outcome, ip)
    db.session.commit()
    log.warning("payment notification refused (%s) for %s", outcome, out_trade_no)
    return Reception.REFUSED


def _foreign_currency(order_currency: str, currency: str | None) -> bool:
    """The provider names a currency (Alipay's answers do not) and it is not the order's."""
    return currency is not None and currency != order_currency


def _keep(method: str, out_trade_no: str | None, body: str, outcome: NotificationOutcome, ip: str | None) -> None:
    """Keep a notification with its outcome: one plain INSERT, no object for the ORM to track."""
    values = {"provider": method, "out_trade_no": out_trade_no and out_trade_no[:64], "body": body, "ip": ip}
    db.session.execute(KEEP, {**values, "outcome": outcome.value})


def _paid_at_once(sent: Notification, method: str) -> bool:
    """The usual case, in one statement: the unpaid order of this number and amount, paid now."""
    if sent.total_cents is None or sent.trade_status not in PAID_STATUSES:
        return False
    written = marking_paid.by_number(
        sent.out_trade_no, sent.total_cents, sent.trade_no, method, "notification", sent.details, sent.currency
    )
    return written is not None


def _apply(notification: Notification, method: str) -> NotificationOutcome:
    if notification.trade_status == NOT_A_PAYMENT:  # a refund's own event and the like: our records lead
        return NotificationOutcome.IGNORED_STATUS
    number, cents, trade_no = notification.out_trade_no, notification.total_cents, notification.trade_no
    if _paid_at_once(notification, method):
        fulfilment.wake_worker()  # the worker sends the SMS and adds the data once this commits
        return NotificationOutcome.PAID
    # Not claimed: say why, reading only what the checks need.
    order = db.session.execute(FIND, {"number": number}).first()
    if order is None:
        return NotificationOutcome.UNKNOWN_ORDER
    if cents is None:
        return NotificationOutcome.BAD_AMOUNT
    if cents != order.total_cents or _foreign_currency(order.currency, notification.currency):
        return NotificationOutcome.AMOUNT_MISMATCH
    if notification.trade_status not in PAID_STATUSES:
        return NotificationOutcome.IGNORED_STATUS  # TRADE_CLOSED: closed unpaid, or refunded: our own records lead
    if order.trade_no == trade_no:
        return NotificationOutcome.DUPLICATE  # trade_no is set once, never cleared
    # Ended, or paid by another trade: the whole order is needed for the refund.
    return _not_claimed(db.session.get_one(Order, order.id, populate_existing=True), trade_no, method)


def apply_query(order: Order, cause: str, asked: list[PaymentProvider] | None = None) -> str:
    """Ask the gateways about an order (by default every one a cashier was opened at: rules.payments.cashiers)
    and apply a paid answer, with the method that was really paid; the caller commits. The outcome is
    the paid answer's, if any, else the last one's.

    The caller has no write open: the questions go out first, the writes follow their answers.
    """
    answers = [(provider, provider.query(order.number)) for provider in asked or cashiers.sent_to(order)]
    outcomes = [record_query(order, trade, cause, provider.name) for provider, trade in answers]
    paid = [outcome for (_provider, trade), outcome in zip(answers, outcomes, strict=True) if _is_paid(trade)]
    return paid[0] if paid else outcomes[-1]


def _is_paid(trade: Trade | None) -> bool:
    return trade is not None and trade.trade_status in PAID_STATUSES


def record_query(order: Order, trade: Trade | None, cause: str, method: str | None = None) -> str:
    """Apply the answer of method `method`'s gateway (by default the order's) to a query (a paid one marks
    the order paid) and log it; the caller commits."""
    method = method or providers.for_order(order).name
    outcome = _query_outcome(order, trade, cause, method)
    status = trade.trade_status if trade else "not_at_gateway"
    shown = status if outcome == status else f"{status} → {outcome}"
    gateway_log.record(order, "trade.query", cause, shown, provider=method)
    return outcome


def _query_outcome(order: Order, trade: Trade | None, cause: str, method: str) -> str:
    """The gateway's own status when it is not paid; else what applying the payment came to."""
    if trade is None or not _is_paid(trade):
        return trade.trade_status if trade else "not_at_gateway"
    if trade.total_cents != order.total_cents or _foreign_currency(order.currency, trade.currency):
        log.error(
            "order %s: gateway says %s %s cents, order says %s",
            order.number,
            trade.currency,
            trade.total_cents,
            order.total_cents,
        )
        return NotificationOutcome.AMOUNT_MISMATCH
    return apply_paid(order, trade.trade_no, cause, {"trade_no": trade.trade_no, "source": "query"}, method)


def close_unpaid(order: Order, cause: str, end=orders.expire) -> bool:
    """End an unpaid order (`orders.expire` or `orders.cancel`) after closing its trade at every gateway
    a cashier was opened at (rules.payments.cashiers).

    The gateways are asked first: a payment that arrived without its notification makes the order
    paid instead (with the method really paid), and then False is returned. All calls go out with no
    write open (the caller has none either); the answers are then written, the end being conditional
    on the order still unpaid. Raises GatewayError (nothing is written then: every trade is closed
    again next time, which is harmless), or orders.IllegalTransition when someone else moved the order
    meanwhile (a payment landing between the close and the end); the caller commits, or rolls back.
    """
    answers = [(provider, provider.query(order.number)) for provider in cashiers.sent_to(order)]
    if any(_is_paid(trade) for _provider, trade in answers):
        for provider, trade in answers:
            record_query(order, trade, cause, provider.name)
        return False  # paid meanwhile, or ended by someone else (a late payment is then refunded)
    for provider, _trade in answers:
        provider.close(order.number)
    for provider, trade in answers:
        record_query(order, trade, cause, provider.name)
    if order.state != OrderState.PENDING_PAYMENT:
        return False
    end(order, cause)  # orders.transition: conditional on pending_payment, raises IllegalTransition if moved
    return True


def fulfil_now(number: str, cause: str) -> None:
    """Try to add the data now (staff and the counter, after their commit): claim, commit, call the
    carrier, record; if the carrier is down the job retries, the order stays paid."""
    order = db.session.scalars(select(Order).where(Order.number == number)).first()
    if order is None:
        log.warning("fulfil_now: no order %s", number)
        return
    fulfilment.fulfil(order, cause)


class CancelOutcome(StrEnum):
    """What came of a traveller's cancel (the view says it in words)."""

    CANCELLED = "cancelled"  # trade closed, order cancelled, promo code use given back
    ALREADY_PAID = "already_paid"  # the gateway says it was paid meanwhile: it is paid now, not cancelled
    GATEWAY_DOWN = "gateway_down"  # could not close the trade: nothing changed, try again
    NOT_UNPAID = "not_unpaid"  # it had ended or been paid before: nothing to do


def cancel_by_traveller(order: Order) -> CancelOutcome:
    """Cancel an unpaid order: its trade is closed at the gateway first, so it cannot be paid later.

    Commits. A payment found on the way is applied instead (the job worker adds its data).
    """
    if order.state != OrderState.PENDING_PAYMENT:
        return CancelOutcome.NOT_UNPAID
    db.session.commit()  # nothing written yet: no transaction is open while the gateway is asked
    try:
        ended = close_unpaid(order, "traveller", end=orders.cancel)
    except GatewayError:
        db.session.rollback()
        return CancelOutcome.GATEWAY_DOWN
    except orders.IllegalTransition:  # paid (or ended) between the gateway's answer and the cancel
        db.session.rollback()
        ended = False
    db.session.commit()
    if ended:
        return CancelOutcome.CANCELLED
    return CancelOutcome.ALREADY_PAID if order.state in PAID_OR_AFTER else CancelOutcome.NOT_UNPAID


class ReturnRefused(Exception):
    """A browser return without the payment method's valid signature."""


def browser_returned(incoming: Incoming, method: str) -> Order | None:
    """The traveller's browser back from the cashier: the order it is about, or None if unknown.

    Its signature is checked, but it never marks anything paid by itself: a still unpaid order makes
    us ask the gateway (its signed answer, not these params), as the notification may be late. Commits.
    Raises ReturnRefused for an unsigned or tampered return.
    """
    number = providers.provider(method).returned_order(incoming)
    if number is None:
        raise ReturnRefused
    order = db.session.scalars(select(Order).where(Order.number == number)).first()
    if order is not None and order.state == OrderState.PENDING_PAYMENT:
        try:
            # The cashier it came back from first: the order may have been confirmed since with another.
            returned_from = providers.provider(method)
            others = [p for p in cashiers.sent_to(order) if p.name != returned_from.name]
            apply_query(order, "return_page", [returned_from, *others])  # paid: the job worker adds the data
            db.session.commit()
        except GatewayError:
            db.session.rollback()  # the order page polls and the job asks again
    return order
