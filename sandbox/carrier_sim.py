"""The simulated carrier (CARRIER=simulated, the embedded default): it answers from the packs in our
own table (CardPack). It can be told to misbehave, from the sandbox pages (a SandboxSetting row, so
every worker sees it) or by CARRIER_DOWN=True: `down` (refuses), `timeout` (answers nothing within
CARRIER_TIMEOUT_SECONDS), `slow` (answers after CARRIER_SLOW_SECONDS).

Its own side: its demo SIMs, its sandbox switch, and
`flask --app app carrier simulate-usage [--card NUMBER] [--mb N | --days N]`, which uses data up the way
a traveller does (more on travel days) and records the daily readings the forecasts read.
"""

import random
import time
from collections.abc import Sequence
from datetime import date, timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from extensions import db
from gateways.carrier import CardBalance, Carrier, CarrierUnavailable, PackBalance
from models import Card, CardPack, CarrierReading, Order, UsageReading, utcnow
from rules.travellers import iccid, phones, usage
from sandbox.models import SandboxSetting

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

    def sim_matches(self, msisdn: str, iccid_digits: str) -> bool:
        self._answer_or_raise()
        return super().sim_matches(msisdn, iccid_digits)

    def iccid_of(self, msisdn: str) -> str | None:
        """Its SIMs are the cards on record here (whose ICCIDs passed this very check), then its demo
        SIMs, bound here or not; any other number gets a SIM with the first well-formed ICCID typed for
        it that no other number holds (the sandbox issues it)."""
        return super().iccid_of(msisdn) or DEMO_ICCIDS.get(msisdn)

    def number_of(self, iccid: str) -> str | None:
        return super().number_of(iccid) or DEMO_NUMBERS.get(iccid)

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


carrier_cli = AppGroup("carrier", help="The simulated carrier (sandbox and tests).")

# Cards the simulated carrier knows, for a newcomer to bind without working out a check digit.
DEMO_SIMS = [
    ("+852 6123 4567", iccid.with_check_digit("898520012345678901")),
    ("+852 6123 4568", iccid.with_check_digit("898520012345678902")),
    ("+852 6234 5678", iccid.with_check_digit("898520012345678903")),
    ("+852 5123 4567", iccid.with_check_digit("898520012345678904")),
    ("+852 9876 5432", iccid.with_check_digit("898520012345678905")),
    ("+86 138 0013 8000", iccid.with_check_digit("898520012345678906")),
]
DEMO_ICCIDS = {"".join(number.split()): sim_iccid for number, sim_iccid in DEMO_SIMS}
DEMO_NUMBERS = {sim_iccid: number for number, sim_iccid in DEMO_ICCIDS.items()}
ORDINARY_DAY_MB = 350
TRAVEL_DAY_FACTOR = 3  # maps, ride-hailing and photos on the days spent crossing the border


def set_mode(mode: str) -> None:
    """Make the simulated carrier answer normally, fail, time out or answer slowly (every worker)."""
    if mode not in SIMULATED_MODES:
        raise ValueError(mode)
    setting = db.session.get(SandboxSetting, MODE_KEY)
    if setting is None:
        db.session.add(SandboxSetting(key=MODE_KEY, value=mode))
    else:
        setting.value = mode


def daily_mb(card_id: int, day: date) -> int:
    """A realistic day: about ORDINARY_DAY_MB, three times that on travel days (Fridays, Saturdays and
    one day in four), with some noise; the same for a card and a day on every run."""
    noise = random.Random(card_id * 100_003 + day.toordinal())
    travel = day.weekday() in (4, 5) or noise.random() < 0.25
    return round(ORDINARY_DAY_MB * (TRAVEL_DAY_FACTOR if travel else 1) * noise.uniform(0.6, 1.4))


def _use(card: Card, mb: int, now) -> int:
    """Use mb on the card's packs in use now, the one ending first first; capped at what is left."""
    packs = db.session.scalars(
        select(CardPack)
        .where(CardPack.card_id == card.id, CardPack.starts_at <= now, CardPack.ends_at > now)
        .order_by(CardPack.ends_at, CardPack.id)
    ).all()
    used = 0
    for pack in packs:
        limit = pack.data_mb if pack.data_mb is not None else None
        room = mb - used if limit is None else min(mb - used, max(0, limit - pack.used_mb))
        pack.used_mb += room
        used += room
        if used >= mb:
            break
    return used


def _record(card: Card, day: date, now) -> None:
    total = sum(db.session.scalars(select(CardPack.used_mb).where(CardPack.card_id == card.id)))
    reading = db.session.scalars(
        select(UsageReading).where(UsageReading.card_id == card.id, UsageReading.day == day)
    ).first()
    if reading is None:
        db.session.add(UsageReading(card_id=card.id, day=day, used_mb=total, read_at=now))
    else:
        reading.used_mb, reading.read_at = total, now


def simulate(card: Card, mb: int | None = None, days: int | None = None) -> int:
    """Use data on the card: mb now, or `days` days of use ending today, each day's total kept as that
    day's reading. How many MB were used (less when a pack ran out)."""
    now = utcnow()
    today = usage.hk_day(now)
    if mb is not None:
        used = _use(card, mb, now)
        _record(card, today, now)
    else:
        used = 0
        for back in range((days or 1) - 1, -1, -1):
            day = today - timedelta(days=back)
            used += _use(card, daily_mb(card.id, day), now)
            _record(card, day, now - timedelta(days=back))
    # What the carrier said a minute ago is out of date: the next page asks it again.
    db.session.execute(delete(CarrierReading).where(CarrierReading.card_id == card.id))
    return used


@carrier_cli.command("simulate-usage")
@click.option("--card", "number", help="The card's mobile number; every bound card with a pack in use when left out.")
@click.option("--mb", type=click.IntRange(1, 1_000_000), help="Use this many MB now.")
@click.option("--days", type=click.IntRange(1, 400), help="Use data for this many days, ending today.")
def simulate_usage(number: str | None, mb: int | None, days: int | None):
    """Use data on the simulated carrier's cards, for demos and tests."""
    if mb is not None and days is not None:
        raise click.UsageError("give --mb or --days, not both")
    if current_app.config.get("CARRIER") != "simulated":
        raise click.ClickException("CARRIER is not simulated: usage is on the carrier's own side")
    if number is not None:
        with current_app.test_request_context():  # the number's error messages are translated text
            try:
                msisdn = phones.normalise(number)
            except phones.InvalidPhone as error:
                raise click.ClickException(f"{number}: {error}") from None
        card = db.session.scalars(select(Card).where(Card.msisdn == msisdn)).first()
        if card is None:
            raise click.ClickException(f"no card with the number {msisdn}: nothing was changed")
        cards = [card]
    else:
        now = utcnow()
        in_use = select(CardPack.card_id).where(CardPack.starts_at <= now, CardPack.ends_at > now)
        cards = list(db.session.scalars(select(Card).where(Card.account_id.is_not(None), Card.id.in_(in_use))))
    for card in cards:
        used = simulate(card, mb=mb, days=days if mb is None else None)
        click.echo(f"{card.msisdn}: {used} MB used" + (f" over {days} days" if days else ""))
    db.session.commit()
    if not cards:
        click.echo("no bound card has a pack in use")


MODE_NAMES = {
    "normal": _l("answers normally"),
    "down": _l("fails (down)"),
    "timeout": _l("times out"),
    "slow": _l("answers slowly"),
}


def mode_name(mode: str) -> str:
    return str(MODE_NAMES.get(mode, mode))
