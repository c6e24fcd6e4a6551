"""What we asked the payment gateway about an order, and what it answered (for staff)."""

from extensions import db
from gateways import providers
from models import GatewayCall, Order


def record(order: Order | None, api: str, cause: str, outcome: str, provider: str | None = None) -> None:
    """One row per question to `provider` (by default the order's); the caller commits (with the change
    the answer led to, if any)."""
    if provider is None:
        provider = providers.for_order(order).name if order is not None else providers.DEFAULT_METHOD
    db.session.add(
        GatewayCall(
            order_id=order.id if order else None, provider=provider, api=api, cause=cause[:20], outcome=outcome[:60]
        )
    )
