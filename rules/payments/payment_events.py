"""Applying what the payment gateway says, exactly once, whatever order and however often it comes.

Only the gateway's signed word (an asynchronous notification, or its answer to a query) marks an
order paid; the browser's return never does. A payment that reaches an order which can no longer
take it (cancelled, expired, or paid by another trade) is refunded automatically (rules.payments.refunds).
"""

import logging
from enum import StrEnum
from typing import cast

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm.attributes import set_committed_value

from extensions import db
from gateways import alipay_gateway
from models import Order, PaymentNotification
from rules.ordering import fulfilment, orders
from rules.ordering.order_states import OrderState
from rules.payments import gateway_log, refunds

log = logging.getLogger(__name__)
PAID_STATUSES = {"TRADE_SUCCESS", "TRADE_FINISHED"}
REQUIRED = ("out_trade_no", "trade_no", "trade_status", "total_amount", "app_id")


def apply_paid(order: Order, trade_no: str, cause: str, details: dict) -> str:
    """Mark `order` paid by trade `trade_no` unless that was done already; the caller commits.

    The claim is one conditional UPDATE, so of many concurrent deliveries exactly one wins, on
    PostgreSQL (row lock) and SQLite (database lock) alike; the unique trade_no backs it up.
    """
    if order.trade_no == trade_no:
        # A repeat of a payment already applied (trade_no is set once, never cleared): nothing to claim.
        return "duplicate"
    claimed = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.state == "pending_payment", Order.trade_no.is_(None))
        .values(trade_no=trade_no, payment_method="alipay")
        .execution_options(synchronize_session=False)
    )
    if not cast(CursorResult, claimed).rowcount:
        db.session.refresh(order)
        if order.trade_no == trade_no:
            return "duplicate"
        if order.state == "pending_payment":  # cannot happen: the claim above would have matched
            log.error("order %s: payment %s could not be claimed", order.number, trade_no)
            return "needs_staff:" + order.state
        # The money reached an order that is cancelled, expired or paid by another trade: it is
        # refunded in full, exactly once per trade (rules.payments.refunds); the order itself stays as it is.
        return refunds.late_payment(order, trade_no)
    set_committed_value(order, "trade_no", trade_no)  # as written: no reload needed
    set_committed_value(order, "payment_method", "alipay")
    orders.transition(order, "paid", cause, details)
    fulfilment.queue_confirmation(order)
    return "paid"


def handle_notification(params: dict[str, str], raw_body: str, ip: str | None = None) -> bool:
    """Verify and apply one asynchronous notification; True means answer `success`.

    Every notification is kept with its outcome, whatever it was.
    """
    out_trade_no, body = params.get("out_trade_no", "")[:64] or None, raw_body[:20000]
    try:
        # Kept in the same transaction as what it did, written once with its outcome (one INSERT,
        # no UPDATE); the outcome is a local, so reading it after the commit costs no reload.
        outcome = _check_and_apply(params)
        db.session.add(PaymentNotification(out_trade_no=out_trade_no, body=body, outcome=outcome, ip=ip))
        db.session.commit()
    except Exception:  # keep the notification even when applying it failed; the gateway retries
        log.exception("payment notification for %s could not be applied", out_trade_no)
        db.session.rollback()
        db.session.add(PaymentNotification(out_trade_no=out_trade_no, body=body, outcome="error", ip=ip))
        db.session.commit()
        return False
    if outcome == "paid":
        fulfil_now(params["out_trade_no"], "notification")
    if outcome.startswith("refund:"):
        _refund_now(params["trade_no"])
    ok = outcome in ("paid", "duplicate", "ignored_status") or outcome.startswith(("needs_staff", "refund:"))
    if not ok:
        log.warning("payment notification refused (%s) for %s", outcome, out_trade_no)
    return ok


def _refund_now(trade_no: str) -> None:
    """Pay back a late payment at once; it is recorded already, so if this fails the job retries."""
    try:
        refunds.attempt_now(refunds.request_no(trade_no))
    except Exception:  # the notification is handled: answer `success` whatever happens here
        log.exception("refund of trade %s could not be attempted now; the job will retry", trade_no)
        db.session.rollback()


def _check_and_apply(params: dict[str, str]) -> str:
    if any(not params.get(name) for name in REQUIRED):
        return "missing_fields"
    if not alipay_gateway.verify_signature(params):
        return "bad_signature"
    if params["app_id"] != alipay_gateway.app_id():
        return "wrong_app_id"
    if params.get("seller_id") and params["seller_id"] != alipay_gateway.seller_id():
        return "wrong_seller_id"
    order = db.session.scalars(select(Order).where(Order.number == params["out_trade_no"])).first()
    if order is None:
        return "unknown_order"
    try:
        amount = alipay_gateway.amount_to_cents(params["total_amount"])
    except ValueError:
        return "bad_amount"
    if amount != order.total_cents:
        return "amount_mismatch"
    if params["trade_status"] not in PAID_STATUSES:
        return "ignored_status"  # TRADE_CLOSED: closed unpaid, or refunded: our own records lead
    return apply_paid(
        order,
        params["trade_no"],
        "notification",
        {"trade_no": params["trade_no"], "notify_id": params.get("notify_id")},
    )


def apply_query(order: Order, cause: str) -> str:
    """Ask the gateway about a pending order and apply a paid answer; the caller commits."""
    trade = alipay_gateway.query(order.number)
    outcome = _query_outcome(order, trade, cause)
    status = trade.trade_status if trade else "not_at_gateway"
    gateway_log.record(order, "trade.query", cause, status if outcome == status else f"{status} → {outcome}")
    return outcome


def _query_outcome(order: Order, trade, cause: str) -> str:
    if trade is None or trade.trade_status not in PAID_STATUSES:
        return trade.trade_status if trade else "not_at_gateway"
    if trade.total_cents != order.total_cents:
        log.error("order %s: gateway says %s cents, order says %s", order.number, trade.total_cents, order.total_cents)
        return "amount_mismatch"
    return apply_paid(order, trade.trade_no, cause, {"trade_no": trade.trade_no, "source": "query"})


def close_unpaid(order: Order, cause: str, end=orders.expire) -> bool:
    """End an unpaid order (`orders.expire` or `orders.cancel`) after closing its trade at the gateway.

    The gateway is asked first: a payment that arrived without its notification makes the order
    paid instead, and then False is returned. Raises GatewayError; the caller commits.
    """
    outcome = apply_query(order, cause)
    if outcome in ("paid", "duplicate") or outcome.startswith("refund:"):
        return False  # paid meanwhile, or ended by someone else (a late payment is then refunded)
    alipay_gateway.close(order.number)
    end(order, cause)
    return True


def fulfil_now(number: str, cause: str) -> None:
    """Try to add the data at once; if the carrier is down the job retries, the order stays paid."""
    order = db.session.scalars(select(Order).where(Order.number == number)).first()
    if order is None:  # e.g. a notification whose order is gone: nothing to add data to
        log.warning("fulfil_now: no order %s", number)
        return
    fulfilment.fulfil(order, cause)
    db.session.commit()


class CancelOutcome(StrEnum):
    """What came of a traveller's cancel (the view says it in words)."""

    CANCELLED = "cancelled"  # trade closed, order cancelled, promo code use given back
    ALREADY_PAID = "already_paid"  # the gateway says it was paid meanwhile: it is paid now, not cancelled
    GATEWAY_DOWN = "gateway_down"  # could not close the trade: nothing changed, try again
    NOT_UNPAID = "not_unpaid"  # it had ended or been paid before: nothing to do


def cancel_by_traveller(order: Order) -> CancelOutcome:
    """Cancel an unpaid order: its trade is closed at the gateway first, so it cannot be paid later.

    Commits. A payment found on the way is applied (and its data added) instead.
    """
    outcome = CancelOutcome.NOT_UNPAID
    if order.state == OrderState.PENDING_PAYMENT:
        try:
            ended = close_unpaid(order, "traveller", end=orders.cancel)
        except alipay_gateway.GatewayError:
            db.session.rollback()
            return CancelOutcome.GATEWAY_DOWN
        db.session.commit()
        outcome = CancelOutcome.CANCELLED if ended else CancelOutcome.ALREADY_PAID
    if order.state == OrderState.PAID:
        fulfil_now(order.number, "traveller")
    return outcome


class ReturnRefused(Exception):
    """A browser return without Alipay's valid signature."""


def browser_returned(params: dict[str, str]) -> Order | None:
    """The traveller's browser back from the cashier: the order it is about, or None if unknown.

    Its signature is checked, but it never marks anything paid by itself: a still unpaid order makes
    us ask the gateway (its signed answer, not these params), as the notification may be late. Commits.
    Raises ReturnRefused for an unsigned or tampered return.
    """
    if not alipay_gateway.verify_signature(params):
        raise ReturnRefused
    order = db.session.scalars(select(Order).where(Order.number == params.get("out_trade_no", "")[:20])).first()
    if order is not None and order.state == OrderState.PENDING_PAYMENT:
        try:
            if apply_query(order, "return_page") == "paid":
                db.session.commit()
                fulfil_now(order.number, "return_page")
        except alipay_gateway.GatewayError:
            db.session.rollback()  # the order page polls and the job asks again
    return order
