"""Adding data to a card goes through a carrier interface; the embedded default is simulated.

The CARRIER setting picks one: `simulated` (records packs in our own table) or `manual` (no carrier
API: staff add the data in the carrier's own system, and the order waits for them).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from extensions import db
from models import Card, CardPack, Order, utcnow

CARRIERS = ("simulated", "manual")


class CarrierUnavailable(Exception):
    """The carrier could not be reached or refused for now; the job tries again later."""


class WaitsForStaff(Exception):
    """This carrier has no API: a person adds the data, then records it."""


@dataclass(frozen=True)
class PackBalance:
    """One pack on a card as the carrier reports it. MB figures are None for an unlimited pack, whose
    fair-use allowance is then in fair_use_mb (used_mb still counts what was used)."""

    order_id: int | None
    data_mb: int | None  # total; None: unlimited
    used_mb: int
    fair_use_mb: int | None
    voice_minutes: int  # total; 0: none in the plan
    voice_used_minutes: int
    starts_at: datetime  # naive UTC
    ends_at: datetime

    @property
    def left_mb(self) -> int | None:
        limit = self.data_mb if self.data_mb is not None else self.fair_use_mb
        return None if limit is None else max(0, limit - self.used_mb)

    @property
    def voice_left_minutes(self) -> int:
        return max(0, self.voice_minutes - self.voice_used_minutes)


@dataclass(frozen=True)
class CardBalance:
    """What the carrier says is on a card, at read_at (naive UTC): its packs, oldest start first."""

    msisdn: str
    packs: tuple[PackBalance, ...]
    read_at: datetime


class Carrier:
    def add_data(self, order: Order) -> None:
        """Put the order's pack on its card, at most once per order, or raise CarrierUnavailable
        (try again later) or WaitsForStaff (a person must do it)."""
        raise NotImplementedError

    def balance(self, card: Card) -> CardBalance:
        """The card's packs with their usage now, or raise CarrierUnavailable."""
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

    def balance(self, card: Card) -> CardBalance:
        if current_app.config.get("CARRIER_DOWN"):
            raise CarrierUnavailable("simulated carrier is down")
        rows = db.session.scalars(select(CardPack).where(CardPack.card_id == card.id).order_by(CardPack.starts_at))
        packs = tuple(_pack_balance(pack) for pack in rows)
        return CardBalance(msisdn=card.msisdn, packs=packs, read_at=utcnow())


def _pack_balance(pack: CardPack) -> PackBalance:
    plan = pack.order.plan if pack.order is not None else None
    return PackBalance(
        order_id=pack.order_id,
        data_mb=pack.data_mb,
        used_mb=pack.used_mb,
        fair_use_mb=plan.fair_use_mb if plan is not None else None,
        voice_minutes=plan.voice_minutes if plan is not None else 0,
        voice_used_minutes=0,
        starts_at=pack.starts_at,
        ends_at=pack.ends_at,
    )


class ManualCarrier(Carrier):
    """No carrier API (CARRIER=manual): every paid order waits for staff to add its data by hand."""

    def add_data(self, order: Order) -> None:
        raise WaitsForStaff("CARRIER=manual: staff add the data by hand")

    def balance(self, card: Card) -> CardBalance:
        raise CarrierUnavailable("CARRIER=manual: usage is only in the carrier's own system")


def carrier() -> Carrier:
    chosen = current_app.extensions.get("carrier")  # tests put a stub here
    if chosen is not None:
        return chosen
    return ManualCarrier() if current_app.config.get("CARRIER") == "manual" else SimulatedCarrier()


RETRY_DELAYS = [timedelta(seconds=s) for s in (30, 60, 300, 900, 3600)]


def retry_delay(attempts: int) -> timedelta:
    return RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]
