"""Adding data to a card goes through a carrier interface; the embedded default is simulated."""

from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from extensions import db
from models import CardPack, Order


class CarrierUnavailable(Exception):
    """The carrier could not be reached or refused for now; the job tries again later."""


class Carrier:
    def add_data(self, order: Order) -> None:
        """Put the order's pack on its card, at most once per order, or raise CarrierUnavailable."""
        raise NotImplementedError


class SimulatedCarrier(Carrier):
    """Records packs in our own table. `CARRIER_DOWN=True` makes it fail, for tests and demos."""

    def add_data(self, order: Order) -> None:
        if current_app.config.get("CARRIER_DOWN"):
            raise CarrierUnavailable("simulated carrier is down")
        if db.session.scalar(select(CardPack.id).where(CardPack.order_id == order.id)):
            return  # already added: a retry after a lost answer must not add it twice
        db.session.add(
            CardPack(
                card_id=order.card_id,
                order_id=order.id,
                data_mb=order.plan.data_mb,
                starts_at=order.validity_start,
                ends_at=order.validity_end,
            )
        )


def carrier() -> Carrier:
    return current_app.extensions.get("carrier") or SimulatedCarrier()


RETRY_DELAYS = [timedelta(seconds=s) for s in (30, 60, 300, 900, 3600)]


def retry_delay(attempts: int) -> timedelta:
    return RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]
