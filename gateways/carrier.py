"""Adding data to a card goes through a carrier interface; the embedded default is simulated.

The CARRIER setting picks one: `simulated` (the sandbox's, sandbox.carrier_sim: it answers from the
packs in our own table) or `manual` (no carrier API: staff add the data in the carrier's own system,
and the order waits for them).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from extensions import db
from models import Card, Order

CARRIERS = ("simulated", "manual")
LAST_DIGITS = 4  # the ICCID digits a traveller types to show they hold the card (top-up without signing in)


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
    def sim_matches(self, msisdn: str, iccid_digits: str) -> bool:
        """Whether the carrier's prepaid SIM with this number has the ICCID `iccid_digits` (a full ICCID),
        or one ending with them (its last LAST_DIGITS); or raise CarrierUnavailable.

        This default is for a carrier without a SIM lookup: only pairs on record here count. A number on
        record matches its own ICCID only; a new number matches a full ICCID that no other number holds,
        so knowing a card's ICCID never moves it to another number."""
        on_record = self.iccid_of(msisdn)
        if len(iccid_digits) == LAST_DIGITS:
            return on_record is not None and on_record.endswith(iccid_digits)
        if on_record is not None:
            return on_record == iccid_digits
        holder = self.number_of(iccid_digits)
        return holder is None or holder == msisdn

    def iccid_of(self, msisdn: str) -> str | None:
        """The ICCID of the SIM with this number, as far as this carrier adapter knows it."""
        return db.session.scalar(select(Card.iccid).where(Card.msisdn == msisdn))

    def number_of(self, iccid: str) -> str | None:
        """The number of the SIM with this ICCID, as far as this carrier adapter knows it."""
        return db.session.scalar(select(Card.msisdn).where(Card.iccid == iccid))

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


class ManualCarrier(Carrier):
    """No carrier API (CARRIER=manual): every paid order waits for staff to add its data by hand."""

    def add_data(self, order: Order) -> None:
        raise WaitsForStaff("CARRIER=manual: staff add the data by hand")

    def balance(self, card: Card) -> CardBalance:
        raise CarrierUnavailable("CARRIER=manual: usage is only in the carrier's own system")


def carrier() -> Carrier:
    """The carrier the CARRIER setting names: `manual`, or the simulated one the sandbox provides (the
    app factory registers it in app.extensions, as tests register a stub under "carrier")."""
    chosen = current_app.extensions.get("carrier")  # tests put a stub here
    if chosen is not None:
        return chosen
    if current_app.config.get("CARRIER") == "manual":
        return ManualCarrier()
    return current_app.extensions["simulated_carrier"]


RETRY_DELAYS = [timedelta(seconds=s) for s in (30, 60, 300, 900, 3600)]


def retry_delay(attempts: int) -> timedelta:
    return RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]
