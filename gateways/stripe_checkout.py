"""Stripe Checkout Sessions: one per order and price, the phone sent to its hosted page, and found
again to ask about or expire.

No card number ever reaches this site, and Checkout itself offers Apple Pay and Google Pay where the
phone has them (payment_method_types is left out on purpose). A second click sends the same request
with the same idempotency key and gets the same session. The session's PaymentIntent is the trade
(trade_no); our order number rides along as client_reference_id and in the metadata.

Stripe only accepts an expires_at at least 30 minutes after a session is made, while an order may
be payable for less (PAY_WITHIN_MINUTES, 15 by default). A session made at the order's last moment
must still be accepted, and every click must send the same parameters (the idempotency key), so
expires_at is pay_by + 31 minutes; the order's own expiry (the jobs worker) or a cancel expires the
session at Stripe before that (close()), and money arriving after all is refunded like any late payment.
"""

from datetime import timedelta
from typing import Any

import stripe
from sqlalchemy import select

from extensions import db
from gateways import stripe_client
from gateways.payment_methods import GatewayError, Incoming, Trade
from models import Order

# Stripe refuses an expires_at sooner than 30 minutes after the session is made; one more for clocks.
SESSION_EXPIRY_PAST_PAY_BY = timedelta(minutes=31)
# Sessions of an order are looked for among those made while it was payable, give or take clocks.
CLOCK_SLACK = timedelta(minutes=5)
# Checkout's own languages for ours (it would otherwise follow the phone's).
CHECKOUT_LOCALES = {"en": "en", "zh_Hans": "zh", "zh_Hant": "zh-HK"}


# --- paying ------------------------------------------------------------------------------------


def idempotency_key(order: Order) -> str:
    """One session per order and price: a second click sends the same request and gets the same session."""
    return f"checkout-{order.number}-{order.total_cents}-{order.currency}"


def session_params(order: Order, return_url: str, quit_url: str) -> dict:
    """The Checkout Session for `order`: the same for every click (the idempotency key needs that)."""
    currency = stripe_client.settings().currency
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
        "expires_at": stripe_client.timestamp(order.pay_by + SESSION_EXPIRY_PAST_PAY_BY),
        "locale": CHECKOUT_LOCALES.get(order.locale, "auto"),
    }


def checkout_url(order: Order, return_url: str, quit_url: str) -> str:
    params = session_params(order, return_url, quit_url)
    options: Any = {"idempotency_key": idempotency_key(order)}
    session = stripe_client.call(
        "checkout session", stripe_client.client().v1.checkout.sessions.create, params=params, options=options
    )
    url = session.to_dict().get("url")
    if not isinstance(url, str) or not url:
        raise GatewayError("Stripe checkout session has no url")
    return url


def returned_order(incoming: Incoming) -> str | None:
    """Stripe does not sign the return: it only names the order, and the rules then ask Stripe."""
    number, session = incoming.form.get("order", ""), incoming.form.get("session_id", "")
    if not (number and session.startswith("cs_")) or len(number) > 20 or len(session) > 255:
        return None
    return number


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
    sessions = stripe_client.client().v1.checkout.sessions
    if trade_no and trade_no.startswith("pi_"):
        page = stripe_client.call("session list", sessions.list, params={"payment_intent": trade_no, "limit": 10})
    else:
        created = {
            "gte": stripe_client.timestamp(created_at - CLOCK_SLACK),
            "lte": stripe_client.timestamp(pay_by + CLOCK_SLACK),
        }
        page = stripe_client.call("session list", sessions.list, params={"created": created, "limit": 100})
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
        stripe_client.cents(session.get("amount_total")) or 0,
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
            expired = stripe_client.call(
                "session expire", stripe_client.client().v1.checkout.sessions.expire, session["id"]
            ).to_dict()
            if expired.get("status") != "expired":
                raise GatewayError(f"Stripe checkout session {session['id']} is {expired.get('status')}")
    return True
