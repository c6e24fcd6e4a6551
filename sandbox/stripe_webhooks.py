"""The sandbox Stripe's webhooks (sandbox mode only): events signed as Stripe signs them, delivered
through sandbox.deliveries on Stripe's retry schedule.

Stripe signs each delivery afresh: the Stripe-Signature header is `t=<unix time>,v1=<hex HMAC-SHA256
of "<t>.<body>" with the endpoint's secret>`, so a retry days later still passes a 5-minute
tolerance. A delivery counts as accepted on any 2xx answer.

The "waiting" event of the reorder behaviour is a checkout.session.completed whose payment_status
is still `unpaid` (what Stripe sends for payment methods that settle later): the app must never let
it undo the payment.
"""

import json
import time
from datetime import timedelta

from flask import current_app, url_for
from stripe import WebhookSignature

from sandbox import deliveries, stripe_ledger
from sandbox.stripe_models import SandboxStripeSession

# Stripe retries "for up to three days with an exponential back off" and publishes no intervals:
# doubling from 10 minutes, at most a day apart, 10 posts over about 2.8 days.
RETRY_GAPS = tuple(timedelta(minutes=m) for m in (10, 20, 40, 80, 160, 320, 640, 1280, 1440))
API_VERSION = "2026-10-28.endive"  # the stripe library's own (stripe 16.1)


def sign(body: str, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header for `body`, made with the stripe library's own helper."""
    return WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp or int(time.time()))


def post_event(url: str, body: str, secret: str, timestamp: int | None = None) -> tuple[int, str]:
    """POST one event to `url` as Stripe does, signed now (or at `timestamp`): the answer's status and text."""
    headers = {"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": sign(body, secret, timestamp)}
    return deliveries.post(url, body.encode("utf-8"), headers)


def _deliver(url: str, body: str) -> bool:
    status, _text = post_event(url, body, current_app.config["STRIPE_WEBHOOK_SECRET"])
    return 200 <= status < 300


deliveries.register("stripe", deliveries.Schedule(RETRY_GAPS, _deliver))


def event(kind: str, thing: dict) -> str:
    """An event as Stripe posts it (a snapshot of the object), as JSON text."""
    return json.dumps(
        {
            "id": stripe_ledger.new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": {"object": thing},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": kind,
        }
    )


def endpoint() -> str:
    """The app's webhook endpoint, as it would be set up in Stripe's dashboard."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for("payments.notify", method="stripe")


def send(trade: str, steps: list[tuple[float, str]]) -> None:
    deliveries.enqueue("stripe", trade, endpoint(), steps)
    deliveries.wake(current_app._get_current_object())  # type: ignore[attr-defined]


def paid(session: SandboxStripeSession, behaviour: str, delay: float) -> None:
    """The events of a payment, by the cashier's behaviour switch (sandbox.deliveries.plan)."""
    done = stripe_ledger.session_json(session, "")
    waiting = {**done, "payment_status": "unpaid", "payment_intent": None}
    steps = deliveries.plan(
        behaviour, event("checkout.session.completed", done), event("checkout.session.completed", waiting), delay
    )
    send(session.payment_intent or session.id, steps)


def expired(session: SandboxStripeSession) -> None:
    send(session.id, [(0, event("checkout.session.expired", stripe_ledger.session_json(session, "")))])


def refunded(session: SandboxStripeSession, refund_id: str) -> None:
    send(refund_id, [(0, event("charge.refunded", stripe_ledger.charge_json(session)))])
