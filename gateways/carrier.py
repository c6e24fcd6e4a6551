"""Adding data to a card goes through a carrier interface; the embedded default is simulated.

The CARRIER setting picks one: `simulated` (answers from the packs in our own table) or `manual` (no carrier
API: staff add the data in the carrier's own system, and the order waits for them).

The simulated carrier can be told to misbehave, from the sandbox pages (a SandboxSetting row, so every
worker sees it) or by CARRIER_DOWN=True: `down` (refuses), `timeout` (answers nothing within
CARRIER_TIMEOUT_SECONDS), `slow` (answers after CARRIER_SLOW_SECONDS).
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from extensions import db
from models import Card, CardPack, Order, SandboxSetting, utcnow

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
    plan_code: str | None = None  # the carrier's product, when it says

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

    def balances(self, cards: Sequence[Card]) -> dict[int, CardBalance | CarrierUnavailable]:
        """Several cards at once (a carrier with a batch API answers in one call): by card id, the
        balance or the CarrierUnavailable raised for that card."""
        answers: dict[int, CardBalance | CarrierUnavailable] = {}
        for card in cards:
            try:
                answers[card.id] = self.balance(card)
            except CarrierUnavailable as error:
                answers[card.id] = error
        return answers


SIMULATED_MODES = ("normal", "down", "timeout", "slow")
MODE_KEY = "carrier_mode"


def simulated_mode() -> str:
    """How the simulated carrier behaves now: CARRIER_DOWN, else the sandbox switch, else normal."""
    if current_app.config.get("CARRIER_DOWN"):
        return "down"
    value = db.session.scalar(select(SandboxSetting.value).where(SandboxSetting.key == MODE_KEY))
    return value if value in SIMULATED_MODES else "normal"


class SimulatedCarrier(Carrier):
    """Records packs in our own table and answers balances from them (CardPack.used_mb)."""

    def _answer_or_raise(self) -> None:
        mode = simulated_mode()
        if mode == "down":
            raise CarrierUnavailable("simulated carrier is down")
        if mode == "timeout":
            time.sleep(float(current_app.config.get("CARRIER_TIMEOUT_SECONDS", 3)))
            raise CarrierUnavailable("simulated carrier timed out")
        if mode == "slow":
            time.sleep(float(current_app.config.get("CARRIER_SLOW_SECONDS", 2)))

    def add_data(self, order: Order) -> None:
        """Only the carrier's answer (its mode switch, its delay): our record of the pack is a rule
        (rules.ordering.fulfilment.record_pack), written once the call has succeeded."""
        self._answer_or_raise()

    def balance(self, card: Card) -> CardBalance:
        answer = self.balances([card])[card.id]
        if isinstance(answer, CarrierUnavailable):
            raise answer
        return answer

    def balances(self, cards: Sequence[Card]) -> dict[int, CardBalance | CarrierUnavailable]:
        """One query for every card's packs, whatever their number."""
        try:
            self._answer_or_raise()
        except CarrierUnavailable as error:
            return {card.id: error for card in cards}
        query = (
            select(CardPack)
            .where(CardPack.card_id.in_([card.id for card in cards]))
            .options(selectinload(CardPack.order).selectinload(Order.plan))
            .order_by(CardPack.starts_at, CardPack.id)
        )
        packs: dict[int, list[PackBalance]] = {card.id: [] for card in cards}
        for pack in db.session.scalars(query):
            packs[pack.card_id].append(_pack_balance(pack))
        now = utcnow()
        return {card.id: CardBalance(msisdn=card.msisdn, packs=tuple(packs[card.id]), read_at=now) for card in cards}


def _pack_balance(pack: CardPack) -> PackBalance:
    plan = pack.order.plan if pack.order is not None else None
    return PackBalance(
        order_id=pack.order_id,
        data_mb=pack.data_mb,
        used_mb=pack.used_mb,
        fair_use_mb=plan.fair_use_mb if plan is not None else None,
        voice_minutes=plan.voice_minutes if plan is not None else 0,
        voice_used_minutes=pack.voice_used_minutes,
        starts_at=pack.starts_at,
        ends_at=pack.ends_at,
        plan_code=plan.code if plan is not None else None,
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
