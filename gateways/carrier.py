"""Adding data to a card goes through a carrier interface; the embedded default is simulated.

The CARRIER setting picks one: `simulated` (records packs in our own table) or `manual` (no carrier
API: staff add the data in the carrier's own system, and the order waits for them).
"""

from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from extensions import db
from models import CardPack, Order

CARRIERS = ("simulated", "manual")


class CarrierUnavailable(Exception):
    """The carrier could not be reached or refused for now; the job tries again later."""


class WaitsForStaff(Exception):
    """This carrier has no API: a person adds the data, then records it."""


class Carrier:
    def add_data(self, order: Order) -> None:
        """Put the order's pack on its card, at most once per order, or raise CarrierUnavailable
        (try again later) or WaitsForStaff (a person must do it)."""
        raise NotImplementedError


def record_pack(order: Order) -> None:
    """Our own record of the order's pack on its card, once per order whoever added it."""
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


class SimulatedCarrier(Carrier):
    """Records packs in our own table. `CARRIER_DOWN=True` makes it fail, for tests and demos."""

    def add_data(self, order: Order) -> None:
        if current_app.config.get("CARRIER_DOWN"):
            raise CarrierUnavailable("simulated carrier is down")
        record_pack(order)


class ManualCarrier(Carrier):
    """No carrier API (CARRIER=manual): every paid order waits for staff to add its data by hand."""

    def add_data(self, order: Order) -> None:
        raise WaitsForStaff("CARRIER=manual: staff add the data by hand")


def carrier() -> Carrier:
    chosen = current_app.extensions.get("carrier")  # tests put a stub here
    if chosen is not None:
        return chosen
    return ManualCarrier() if current_app.config.get("CARRIER") == "manual" else SimulatedCarrier()


RETRY_DELAYS = [timedelta(seconds=s) for s in (30, 60, 300, 900, 3600)]


def retry_delay(attempts: int) -> timedelta:
    return RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]
