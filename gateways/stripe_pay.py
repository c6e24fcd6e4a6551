"""Cards through Stripe Checkout, as an implementation of the payment interface (sandbox mode: the
local Stripe sandbox under PUBLIC_BASE_URL/sandbox/stripe).

The phone is sent to Stripe's hosted Checkout page: no card number ever reaches this site, and
Checkout itself offers Apple Pay and Google Pay where the phone has them (payment_method_types is
left out on purpose). One Checkout Session per order and price, created with an idempotency key, so
a second click gets the same session. The session's PaymentIntent is the trade (trade_no); our order
number rides along as client_reference_id and in the metadata.

Stripe only accepts an expires_at at least 30 minutes after a session is made, while an order may
be payable for less (PAY_WITHIN_MINUTES, 15 by default). A session made at the order's last moment
must still be accepted, and the same click must give the same parameters (the idempotency key), so
expires_at is pay_by + 31 minutes; the order's own expiry (the jobs worker, or a cancel) expires the
session at Stripe before that (close()), and money arriving after all is refunded like any late payment.

Every failure to get an answer comes out as GatewayError. The library retries nothing itself
(max_network_retries=0): the rules retry on their own schedule, and every call that moves money
carries our idempotency key.
"""

import functools
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import stripe
from flask import current_app
from sqlalchemy import select

from extensions import db
from gateways.payment_methods import (
    NOT_A_PAYMENT,
    Answer,
    BillLine,
    GatewayError,
    Incoming,
    Notification,
    NotificationRefused,
    RefundResult,
    Trade,
)
from models import NotificationOutcome, Order

SANDBOX_API_PATH = "/sandbox/stripe"
# Stripe refuses an expires_at sooner than 30 minutes after the session is made; one more for clocks.
SESSION_EXPIRY_PAST_PAY_BY = timedelta(minutes=31)
# Sessions of an order are looked for among those made while it was payable, give or take clocks.
CLOCK_SLACK = timedelta(minutes=5)
HONG_KONG = ZoneInfo("Asia/Hong_Kong")
# Checkout's own languages for ours (it would otherwise follow the phone's).
CHECKOUT_LOCALES = {"en": "en", "zh_Hans": "zh", "zh_Hant": "zh-HK"}
PAID_EVENTS = {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
CLOSED_EVENTS = {"checkout.session.expired", "checkout.session.async_payment_failed"}
REFUND_LIVE = ("pending", "requires_action", "succeeded")  # not failed or canceled


@dataclass(frozen=True)
class Settings:
    api_key: str
    webhook_secret: str
    api_base: str
    currency: str  # upper case, as Order.currency
    timeout: float
    tolerance: int  # seconds a signed webhook's timestamp may be old


def settings() -> Settings:
    config = current_app.config
    base = config["STRIPE_API_BASE"]
    if config["SANDBOX"]:
        base = config["PUBLIC_BASE_URL"].rstrip("/") + SANDBOX_API_PATH
    return Settings(
        config["STRIPE_SECRET_KEY"],
        config["STRIPE_WEBHOOK_SECRET"],
        base,
        config["STRIPE_CURRENCY"].upper(),
        config["STRIPE_TIMEOUT"],
        config["STRIPE_WEBHOOK_TOLERANCE"],
    )


@functools.lru_cache(maxsize=8)
def _client_for(api_key: str, api_base: str, timeout: float) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base},
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


def _client() -> stripe.StripeClient:
    current = settings()
    if not current.api_key:
        raise GatewayError("STRIPE_SECRET_KEY is not set")
    return _client_for(current.api_key, current.api_base, current.timeout)


def _call(what: str, function, *args, **kwargs):
    """One API call; Stripe's errors (network, timeout, HTTP status, error codes) as GatewayError."""
    try:
        return function(*args, **kwargs)
    except stripe.StripeError as error:
        raise GatewayError(f"Stripe {what}: {error.user_message or error}"[:300]) from error


def _timestamp(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp())


def _from_timestamp(value: Any) -> datetime | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
    return None


def _cents(value: Any) -> int | None:
    """An amount in the currency's smallest unit, as Stripe gives it; None when it is not one."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


# --- paying ------------------------------------------------------------------------------------


def idempotency_key(order: Order) -> str:
    """One session per order and price: a second click sends the same request and gets the same session."""
    return f"checkout-{order.number}-{order.total_cents}-{order.currency}"


def session_params(order: Order, return_url: str, quit_url: str) -> dict:
    """The Checkout Session for `order`: the same for every click (the idempotency key needs that)."""
    currency = settings().currency
    if order.currency != currency:
        raise GatewayError(f"order is in {order.currency} but Stripe is configured for {currency}")
    return {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": currency.lower(),
                    "unit_amount": order.total_cents,
                    "product_data": {"name": f"RoamRenew {order.number}"},
                },
            }
        ],
        "client_reference_id": order.number,
        "metadata": {"order": order.number},
        "payment_intent_data": {"metadata": {"order": order.number}},
        # Stripe puts the session's id where {CHECKOUT_SESSION_ID} stands; the return only makes us ask.
        "success_url": f"{return_url}?order={order.number}&session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": quit_url,
        "expires_at": _timestamp(order.pay_by + SESSION_EXPIRY_PAST_PAY_BY),
        "locale": CHECKOUT_LOCALES.get(order.locale, "auto"),
    }


def checkout_url(order: Order, return_url: str, quit_url: str) -> str:
    params = session_params(order, return_url, quit_url)
    options: Any = {"idempotency_key": idempotency_key(order)}
    session = _call("checkout session", _client().v1.checkout.sessions.create, params=params, options=options)
    url = session.to_dict().get("url")
    if not isinstance(url, str) or not url:
        raise GatewayError("Stripe checkout session has no url")
    return url


# --- notifications -----------------------------------------------------------------------------


def _signed(body: bytes, header: str | None, secret: str) -> bool:
    """True if the body carries our secret's signature, whatever its age."""
    try:
        return stripe.WebhookSignature.verify_header(body, header, secret, tolerance=None)
    except (stripe.SignatureVerificationError, ValueError):
        return False


def _event(incoming: Incoming) -> dict:
    """The verified event as plain JSON: refused as stale when the signature is ours but too old."""
    current = settings()
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
    return Notification(order, trade, status, _cents(thing.get("amount_total")), details, currency=currency)


def returned_order(incoming: Incoming) -> str | None:
    """Stripe does not sign the return: it only names the order, and the rules then ask Stripe."""
    number, session = incoming.form.get("order", ""), incoming.form.get("session_id", "")
    if not (number and session.startswith("cs_")) or len(number) > 20 or len(session) > 255:
        return None
    return number


# --- asking Stripe -----------------------------------------------------------------------------


def sessions_of(out_trade_no: str) -> list[dict]:
    """The order's Checkout Sessions at Stripe, newest first.

    Stripe lists sessions by PaymentIntent or by creation time, not by metadata: a paid order's
    trade finds its one session; otherwise those made while the order was payable are read and
    ours picked by client_reference_id.
    """
    row = db.session.execute(
        select(Order.created_at, Order.pay_by, Order.trade_no).where(Order.number == out_trade_no)
    ).first()
    if row is None:
        return []
    created_at, pay_by, trade_no = row
    sessions = _client().v1.checkout.sessions
    if trade_no and trade_no.startswith("pi_"):
        page = _call("session list", sessions.list, params={"payment_intent": trade_no, "limit": 10})
    else:
        created = {"gte": _timestamp(created_at - CLOCK_SLACK), "lte": _timestamp(pay_by + CLOCK_SLACK)}
        page = _call("session list", sessions.list, params={"created": created, "limit": 100})
    try:
        found = [session.to_dict() for session in page.auto_paging_iter()]
        return [session for session in found if session.get("client_reference_id") == out_trade_no]
    except stripe.StripeError as error:  # a later page failed
        raise GatewayError(f"Stripe session list: {error}"[:300]) from error


def _trade(session: dict) -> Trade:
    paid = session.get("status") == "complete" and session.get("payment_status") == "paid"
    status = {"open": "WAIT_BUYER_PAY", "expired": "TRADE_CLOSED"}.get(session.get("status", ""), "WAIT_BUYER_PAY")
    return Trade(
        "TRADE_SUCCESS" if paid else status,
        str(session.get("payment_intent") if paid else session.get("id")),
        _cents(session.get("amount_total")) or 0,
        None,  # Stripe's session has no payment time; ours is when we learn of it
        currency=str(session.get("currency") or "").upper() or None,
    )


def query(out_trade_no: str) -> Trade | None:
    sessions = sessions_of(out_trade_no)
    if not sessions:
        return None
    paid = [session for session in sessions if session.get("payment_status") == "paid"]
    return _trade(paid[0] if paid else sessions[0])


def close(out_trade_no: str) -> bool:
    """Expire every open session of the order; a paid one raises GatewayError."""
    for session in sessions_of(out_trade_no):
        if session.get("payment_status") == "paid":
            raise GatewayError(f"Stripe checkout session {session['id']} is paid")
        if session.get("status") == "open":
            expired = _call("session expire", _client().v1.checkout.sessions.expire, session["id"]).to_dict()
            if expired.get("status") != "expired":
                raise GatewayError(f"Stripe checkout session {session['id']} is {expired.get('status')}")
    return True


def _intent(out_trade_no: str, trade_no: str | None) -> str:
    if trade_no and trade_no.startswith("pi_"):
        return trade_no
    trade = query(out_trade_no)
    if trade is None or trade.trade_status != "TRADE_SUCCESS":
        raise GatewayError(f"order {out_trade_no} has no paid Stripe payment")
    return trade.trade_no


def _refunds(intent: str) -> list[dict]:
    page = _call("refund list", _client().v1.refunds.list, params={"payment_intent": intent, "limit": 100})
    refunds = [refund.to_dict() for refund in page.data]
    return [refund for refund in refunds if refund.get("status") in REFUND_LIVE]


def _request_no(refund: dict) -> str | None:
    return (refund.get("metadata") or {}).get("out_request_no")


def refund(
    out_trade_no: str, amount_cents: int, out_request_no: str, reason: str, trade_no: str | None = None
) -> RefundResult:
    """Refund part or all of the payment. Stripe keeps an idempotency key for 24 hours only, so an
    older request is first looked for among the payment's refunds by its out_request_no."""
    intent = _intent(out_trade_no, trade_no)
    earlier = _refunds(intent)
    total = sum(_cents(item.get("amount")) or 0 for item in earlier)
    if any(_request_no(item) == out_request_no for item in earlier):
        return RefundResult(False, total)
    params: Any = {
        "payment_intent": intent,
        "amount": amount_cents,
        "metadata": {"order": out_trade_no, "out_request_no": out_request_no, "reason": reason[:200]},
    }
    created = _call("refund", _client().v1.refunds.create, params=params, options={"idempotency_key": out_request_no})
    replayed = created.last_response is not None and created.last_response.headers.get("Idempotent-Replayed")
    made = created.to_dict()
    if made.get("status") not in REFUND_LIVE:
        raise GatewayError(f"Stripe refund {made.get('id')} is {made.get('status')}")
    return RefundResult(not replayed, total if replayed else total + (_cents(made.get("amount")) or 0))


def query_refund(out_trade_no: str, out_request_no: str, trade_no: str | None = None) -> int | None:
    try:
        intent = _intent(out_trade_no, trade_no)
    except GatewayError:
        if query(out_trade_no) is None:
            return None  # no such payment: no such refund either
        raise
    found = [_cents(item.get("amount")) for item in _refunds(intent) if _request_no(item) == out_request_no]
    return found[0] if found else None


# --- the day's bill ----------------------------------------------------------------------------


def _bill_line(transaction: dict) -> BillLine | None:
    source, kind = transaction.get("source"), transaction.get("type")
    if not isinstance(source, dict):  # expanded: the charge or the refund itself
        return None
    metadata, intent = source.get("metadata") or {}, str(source.get("payment_intent") or "")
    when, order = _from_timestamp(transaction.get("created")), str(metadata.get("order", ""))
    cents = _cents(source.get("amount"))
    if cents is None:
        raise GatewayError(f"Stripe balance transaction {transaction.get('id')} has no amount")
    if kind in ("charge", "payment"):
        return BillLine("payment", intent, order, None, cents, when)
    if kind in ("refund", "payment_refund"):
        return BillLine("refund", intent, order, metadata.get("out_request_no"), cents, when)
    return None  # fees, payouts, adjustments: not a payment of an order


def day_bill(day: date) -> list[BillLine]:
    """The charges and refunds of a Hong Kong day, from the balance transactions: amounts as charged
    and refunded (the order's currency), not as settled. No Stripe account set up: nothing is there."""
    if not current_app.config["SANDBOX"] and not current_app.config["STRIPE_SECRET_KEY"]:
        return []
    start = datetime.combine(day, time(0), HONG_KONG)
    created = {"gte": int(start.timestamp()), "lt": int((start + timedelta(days=1)).timestamp())}
    params: Any = {"created": created, "limit": 100, "expand": ["data.source"]}
    page = _call("balance transactions", _client().v1.balance_transactions.list, params=params)
    try:
        lines = [_bill_line(transaction.to_dict()) for transaction in page.auto_paging_iter()]
    except stripe.StripeError as error:
        raise GatewayError(f"Stripe balance transactions: {error}"[:300]) from error
    return [line for line in lines if line is not None]


class StripeProvider:
    name = "stripe"

    def start_payment(self, order: Order, *, return_url: str, notify_url: str, quit_url: str) -> str:
        """notify_url is not Stripe's to take: webhooks go to the endpoint set up in Stripe's dashboard."""
        return checkout_url(order, return_url, quit_url)

    def read_notification(self, incoming: Incoming) -> Notification:
        return read_notification(incoming)

    def answer(self, accepted: bool) -> Answer:
        """Stripe stops sending on any 2xx."""
        return Answer(json.dumps({"received": accepted}), 200 if accepted else 400, "application/json")

    def returned_order(self, incoming: Incoming) -> str | None:
        return returned_order(incoming)

    def query(self, out_trade_no: str) -> Trade | None:
        return query(out_trade_no)

    def close(self, out_trade_no: str) -> bool:
        return close(out_trade_no)

    def refund(
        self, out_trade_no: str, amount_cents: int, out_request_no: str, reason: str, trade_no: str | None = None
    ) -> RefundResult:
        return refund(out_trade_no, amount_cents, out_request_no, reason, trade_no=trade_no)

    def query_refund(self, out_trade_no: str, out_request_no: str, trade_no: str | None = None) -> int | None:
        return query_refund(out_trade_no, out_request_no, trade_no=trade_no)

    def day_bill(self, day: date) -> list[BillLine]:
        return day_bill(day)
