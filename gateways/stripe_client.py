"""The connection to Stripe (sandbox mode: the local Stripe sandbox under PUBLIC_BASE_URL/sandbox/stripe):
settings, the stripe library's client, and Stripe's failures as GatewayError.

The library retries nothing itself (max_network_retries=0): the rules retry on their own schedule,
and every call that moves money carries our idempotency key. Money is in the currency's smallest
unit, as Stripe counts it (cents for HKD); times are Unix seconds there, naive UTC here.
"""

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe
from flask import current_app

from gateways.payment_methods import GatewayError

SANDBOX_API_PATH = "/sandbox/stripe"


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


def client() -> stripe.StripeClient:
    current = settings()
    if not current.api_key:
        raise GatewayError("STRIPE_SECRET_KEY is not set")
    return _client_for(current.api_key, current.api_base, current.timeout)


def call(what: str, function, *args, **kwargs):
    """One API call; Stripe's errors (network, timeout, HTTP status, error codes) as GatewayError."""
    try:
        return function(*args, **kwargs)
    except stripe.StripeError as error:
        raise GatewayError(f"Stripe {what}: {error.user_message or error}"[:300]) from error


def timestamp(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp())


def from_timestamp(value: Any) -> datetime | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
    return None


def cents(value: Any) -> int | None:
    """An amount in the currency's smallest unit, as Stripe gives it; None when it is not one."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
