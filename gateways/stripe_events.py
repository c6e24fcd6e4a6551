"""Stripe's webhooks, verified with the Stripe-Signature header and the endpoint's secret, and read.

A signature that is ours but older than STRIPE_WEBHOOK_TOLERANCE is a replay (stale); checkout
session events say whether the order's card payment went through; refund events and any other type
are kept and never applied (NOT_A_PAYMENT). The currency is passed on: one that is not the order's
must not pay it.
"""

import json

import stripe

from gateways import stripe_client
from gateways.payment_methods import NOT_A_PAYMENT, Incoming, Notification, NotificationRefused
from models import NotificationOutcome

PAID_EVENTS = {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
CLOSED_EVENTS = {"checkout.session.expired", "checkout.session.async_payment_failed"}


def _signed(body: bytes, header: str | None, secret: str) -> bool:
    """True if the body carries our secret's signature, whatever its age."""
    try:
        return stripe.WebhookSignature.verify_header(body, header, secret, tolerance=None)
    except (stripe.SignatureVerificationError, ValueError):
        return False


def _event(incoming: Incoming) -> dict:
    """The verified event as plain JSON: refused as stale when the signature is ours but too old."""
    current = stripe_client.settings()
    header = incoming.headers.get("stripe-signature")
    try:
        stripe.WebhookSignature.verify_header(incoming.body, header, current.webhook_secret, current.tolerance)
    except stripe.SignatureVerificationError:
        stale = _signed(incoming.body, header, current.webhook_secret)
        raise NotificationRefused(NotificationOutcome.STALE if stale else NotificationOutcome.BAD_SIGNATURE) from None
    except ValueError:  # not UTF-8: unreadable before any signature could be checked
        raise NotificationRefused(NotificationOutcome.MISSING_FIELDS) from None
    try:
        event = json.loads(incoming.body)
    except ValueError:  # signed, yet not JSON (cut short on the way, say)
        raise NotificationRefused(NotificationOutcome.MISSING_FIELDS) from None
    data = event.get("data") if isinstance(event, dict) else None
    if not (isinstance(data, dict) and isinstance(data.get("object"), dict) and isinstance(event.get("type"), str)):
        raise NotificationRefused(NotificationOutcome.MISSING_FIELDS)
    return event


def read_notification(incoming: Incoming) -> Notification:
    event = _event(incoming)
    kind, thing = event["type"], event["data"]["object"]
    metadata = thing.get("metadata") if isinstance(thing.get("metadata"), dict) else {}
    order = str(thing.get("client_reference_id") or metadata.get("order") or "")[:20]
    details = {"event": str(event.get("id", ""))[:64], "type": kind[:64]}
    if kind not in PAID_EVENTS | CLOSED_EVENTS:  # a refund's event and the like: kept, never applied
        trade = str(thing.get("payment_intent") or thing.get("id") or "")[:64]
        return Notification(order, trade, NOT_A_PAYMENT, None, {**details, "trade_no": trade})
    paid = kind in PAID_EVENTS and thing.get("payment_status") == "paid"
    intent = thing.get("payment_intent")
    if not order or (paid and not isinstance(intent, str)):
        raise NotificationRefused(NotificationOutcome.MISSING_FIELDS)
    trade = str(intent or thing.get("id") or "")[:64]
    status = "TRADE_SUCCESS" if paid else "TRADE_CLOSED" if kind in CLOSED_EVENTS else "WAIT_BUYER_PAY"
    currency = str(thing.get("currency") or "").upper() or None
    details = {**details, "trade_no": trade, "session": str(thing.get("id", ""))[:80], "currency": currency}
    return Notification(
        order, trade, status, stripe_client.cents(thing.get("amount_total")), details, currency=currency
    )
