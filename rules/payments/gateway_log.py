"""What we asked the payment gateway about an order, and what it answered (for staff)."""

from extensions import db
from models import GatewayCall, Order


def record(order: Order | None, api: str, cause: str, outcome: str, provider: str) -> None:
    """One row per question to `provider` (the method asked); the caller commits (with the change the
    answer led to, if any)."""
    db.session.add(
        GatewayCall(
            order_id=order.id if order else None,
            provider=provider[:10],
            api=api,
            cause=cause[:20],
            outcome=outcome[:60],
        )
    )
