"""Which cashiers an unpaid order was sent to.

A traveller may confirm an order with one method, come back and confirm it again with another, or open
two cashiers in two tabs: each may then hold an open trade for the same order number. Every one of them
must be closed when the order is cancelled or expires, and a payment at any of them applied (or refunded
as a late payment). So the order's provider is not enough: each cashier opened is recorded as a
GatewayCall row ("trade.start", with its provider), committed before the provider hears of the order.
"""

from sqlalchemy import select

from extensions import db
from gateways import providers
from gateways.payment_methods import PaymentProvider
from models import GatewayCall, Order
from rules.payments import gateway_log

START = "trade.start"


def opening(order: Order) -> PaymentProvider:
    """The provider of the order's method, once it is recorded that its cashier is opened; commits, so
    the record stands before the provider is asked (no write is open while it answers)."""
    provider = providers.for_order(order)
    if provider.name not in _recorded(order):
        gateway_log.record(order, START, "cashier", "sent", provider=provider.name)
    db.session.commit()
    return provider


def sent_to(order: Order) -> list[PaymentProvider]:
    """The order's own provider, then every other (still implemented) one a cashier was opened at."""
    own = providers.for_order(order)
    others = [providers.PROVIDERS[name] for name in _recorded(order) if name in providers.PROVIDERS]
    return [own, *(provider for provider in others if provider.name != own.name)]


def _recorded(order: Order) -> list[str]:
    query = (
        select(GatewayCall.provider)
        .where(GatewayCall.order_id == order.id, GatewayCall.api == START)
        .group_by(GatewayCall.provider)
        .order_by(GatewayCall.provider)
    )
    return list(db.session.scalars(query))
