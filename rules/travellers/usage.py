"""What is left on a card: the carrier's balance, kept briefly, checked, and one reading a day.

A real carrier is slow and rate-limited, so an answer is kept CARRIER_CACHE_SECONDS (60 by default) in
the database (CarrierReading), shared by every worker; pages say how old it is. An answer that makes no
sense (a missing figure, negative usage) counts as no answer: "usage not available right now".
A kept answer counts only if it was read after the last pack this site recorded on the card (CardPack,
written in the transaction that records the data as added, and the pack a "start now" ends): the
moment the site itself changes the card, what was kept is stale, whichever worker kept it and when.

The account page reads every card with a constant number of queries: read_usage(cards) asks the cache
once, the carrier once for the cards it lacks (Carrier.balances), and the daily readings once. The full
page never waits on the carrier (ask_carrier=False): it shows what is kept, with its age, and its usage
part asks again by itself (an htmx request) when that is not recent; so a slow or dead carrier slows
only that part, never the page.
"""

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta

from flask import current_app
from sqlalchemy import exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from extensions import db
from gateways.carrier import CardBalance, CarrierUnavailable, PackBalance, carrier
from models import Card, CardPack, CarrierReading, UsageReading, utcnow
from rules.text.formatting import HONG_KONG
from rules.travellers import forecast

log = logging.getLogger(__name__)


def hk_day(moment: datetime) -> date:
    """The Hong Kong date of a naive-UTC moment."""
    return moment.replace(tzinfo=UTC).astimezone(HONG_KONG).date()


def cache_seconds() -> int:
    return int(current_app.config.get("CARRIER_CACHE_SECONDS", 60))


# --- the carrier's answer, checked and kept ------------------------------------------------------


def _sane_pack(pack: PackBalance) -> bool:
    def count(value, optional=False) -> bool:
        if value is None:
            return optional
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    return (
        count(pack.data_mb, optional=True)
        and count(pack.used_mb)
        and count(pack.fair_use_mb, optional=True)
        and count(pack.voice_minutes)
        and count(pack.voice_used_minutes)
        and isinstance(pack.starts_at, datetime)
        and isinstance(pack.ends_at, datetime)
        and pack.starts_at < pack.ends_at
    )


def sane(balance: object) -> bool:
    """The answer has every figure a page needs, none negative."""
    return (
        isinstance(balance, CardBalance)
        and isinstance(balance.read_at, datetime)
        and isinstance(balance.packs, tuple)
        and all(isinstance(pack, PackBalance) and _sane_pack(pack) for pack in balance.packs)
    )


def _to_json(balance: CardBalance) -> str:
    return json.dumps(asdict(balance), default=lambda value: value.isoformat())


def _from_json(text: str, read_at: datetime) -> CardBalance | None:
    try:
        raw = json.loads(text)
        packs = tuple(
            PackBalance(
                **{
                    **pack,
                    "starts_at": datetime.fromisoformat(pack["starts_at"]),
                    "ends_at": datetime.fromisoformat(pack["ends_at"]),
                }
            )
            for pack in raw["packs"]
        )
        return CardBalance(msisdn=raw["msisdn"], packs=packs, read_at=read_at)
    except (ValueError, KeyError, TypeError):
        return None  # an answer kept by an older version: ask the carrier again


def _keep(answers: dict[int, CardBalance]) -> None:
    """Store fresh answers, one statement for all, replacing what another worker may have kept."""
    if not answers:
        return
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    rows = [{"card_id": card_id, "read_at": b.read_at, "answer": _to_json(b)} for card_id, b in answers.items()]
    statement = insert(CarrierReading)
    statement = statement.on_conflict_do_update(
        index_elements=[CarrierReading.card_id],
        set_={"read_at": statement.excluded.read_at, "answer": statement.excluded.answer},
    )
    # Its own short transaction: committing the request's session would expire every loaded card and
    # cost a query per card to reload it.
    try:
        with db.engine.begin() as connection:
            connection.execute(statement, rows)
    except SQLAlchemyError:  # e.g. SQLite busy: the answer is still shown, only not kept
        log.warning("could not keep the carrier's answer for cards %s", sorted(answers), exc_info=True)


def _changed_since_read():
    """The site recorded a pack on the card at or after the kept answer was read: it is stale (a page
    that read the carrier just before the pack was added may keep its answer after; it stays stale)."""
    return exists().where(CardPack.card_id == CarrierReading.card_id, CardPack.created_at >= CarrierReading.read_at)


def read_balances(
    cards: Sequence[Card], now: datetime | None = None, ask_carrier: bool = True
) -> dict[int, CardBalance | None]:
    """Each card's balance (None: not available right now), from the cache when it is recent enough.

    With ask_carrier False the carrier is not called: a card whose kept answer is older than
    CARRIER_CACHE_SECONDS gets that older answer (its age is shown), or None when none was ever kept.
    """
    now = now or utcnow()
    if not cards:
        return {}
    fresh_after = now - timedelta(seconds=cache_seconds())
    kept = db.session.scalars(
        select(CarrierReading).where(CarrierReading.card_id.in_([card.id for card in cards]), ~_changed_since_read())
    )
    found: dict[int, CardBalance | None] = {}
    older: dict[int, CardBalance | None] = {}
    for row in kept:
        (found if row.read_at > fresh_after else older)[row.card_id] = _from_json(row.answer, row.read_at)
    missing = [card for card in cards if found.get(card.id) is None]
    if missing and not ask_carrier:
        return found | {card.id: older.get(card.id) for card in missing}
    if missing:
        try:
            answers = carrier().balances(missing)
        except (CarrierUnavailable, KeyError, TypeError, ValueError):  # an adapter choking on an odd answer
            log.warning("the carrier gave no usable answer for cards %s", [c.id for c in missing], exc_info=True)
            answers = {}
        good = {cid: answer for cid, answer in answers.items() if not isinstance(answer, CarrierUnavailable)}
        good = {cid: answer for cid, answer in good.items() if sane(answer)}
        _keep(good)
        for card in missing:
            found[card.id] = good.get(card.id)
    return found


def current_balance(card: Card, now: datetime | None = None) -> CardBalance | None:
    """One card's balance, from the cache when recent; None when the carrier cannot answer."""
    return read_balances([card], now)[card.id]


def total_used_mb(balance: CardBalance) -> int:
    return sum(pack.used_mb for pack in balance.packs)


# --- daily readings --------------------------------------------------------------------------


def record_reading(card: Card, balance: CardBalance) -> bool:
    """Today's (Hong Kong) reading for the card, once a day; False when one was already there."""
    day = hk_day(balance.read_at)
    if db.session.scalar(select(UsageReading.id).where(UsageReading.card_id == card.id, UsageReading.day == day)):
        return False
    try:
        with db.session.begin_nested():
            db.session.add(
                UsageReading(card_id=card.id, day=day, used_mb=total_used_mb(balance), read_at=balance.read_at)
            )
    except IntegrityError:
        return False  # another worker recorded it first
    return True


def readings_since(card_ids: Sequence[int], first_day: date) -> dict[int, list[tuple[date, int]]]:
    """(day, used MB) per card from first_day on, oldest first: one query for all cards."""
    found: dict[int, list[tuple[date, int]]] = {card_id: [] for card_id in card_ids}
    if not card_ids:
        return found
    rows = db.session.execute(
        select(UsageReading.card_id, UsageReading.day, UsageReading.used_mb)
        .where(UsageReading.card_id.in_(card_ids), UsageReading.day >= first_day)
        .order_by(UsageReading.card_id, UsageReading.day)
    )
    for card_id, day, used_mb in rows:
        found[card_id].append((day, used_mb))
    return found


# --- what the account page shows -------------------------------------------------------------


@dataclass
class CardUsage:
    """One card on the account page. balance None: usage not available right now."""

    card: Card
    balance: CardBalance | None
    now: datetime
    active: list[PackBalance] = field(default_factory=list)
    queued: list[PackBalance] = field(default_factory=list)
    outlook: forecast.Outlook | None = None
    # The carrier was not asked (the page never waits on it) and what is kept is not recent: the page
    # asks for this card's usage again by itself (htmx), or on "Refresh".
    to_ask: bool = False

    @property
    def available(self) -> bool:
        return self.balance is not None

    @property
    def age_seconds(self) -> int:
        return max(0, int((self.now - self.balance.read_at).total_seconds())) if self.balance else 0

    @property
    def unlimited(self) -> bool:
        return any(pack.data_mb is None for pack in self.active)

    @property
    def total_mb(self) -> int | None:
        limits = [pack.data_mb if pack.data_mb is not None else pack.fair_use_mb for pack in self.active]
        return None if not limits or None in limits else sum(limit for limit in limits if limit is not None)

    @property
    def left_mb(self) -> int | None:
        lefts = [pack.left_mb for pack in self.active]
        return None if not lefts or None in lefts else sum(left for left in lefts if left is not None)

    @property
    def percent_left(self) -> int:
        total, left = self.total_mb, self.left_mb
        return 0 if not total or left is None else min(100, round(100 * left / total))

    @property
    def voice_left_minutes(self) -> int | None:
        with_voice = [pack for pack in self.active if pack.voice_minutes]
        return sum(pack.voice_left_minutes for pack in with_voice) if with_voice else None

    @property
    def expires_at(self) -> datetime | None:
        ends = [pack.ends_at for pack in self.active + self.queued]
        return max(ends) if ends else None

    @property
    def days_left(self) -> int | None:
        ends = self.expires_at
        return None if ends is None else max(0, (hk_day(ends) - hk_day(self.now)).days)


def read_usage(cards: Sequence[Card], now: datetime | None = None, ask_carrier: bool = True) -> list[CardUsage]:
    """Every card's usage, packs and outlook, with a constant number of queries whatever the cards.

    ask_carrier False: only what is kept (read_balances), each card not read recently marked to_ask.
    """
    now = now or utcnow()
    balances = read_balances(cards, now, ask_carrier)
    fresh_after = now - timedelta(seconds=cache_seconds())
    history = readings_since([card.id for card in cards], hk_day(now) - timedelta(days=forecast.WINDOW_DAYS))
    plans = forecast.LazyPlans()
    shown = []
    for card in cards:
        usage = CardUsage(card=card, balance=balances.get(card.id), now=now)
        usage.to_ask = not ask_carrier and (usage.balance is None or usage.balance.read_at <= fresh_after)
        if usage.balance is not None:
            usage.active = [p for p in usage.balance.packs if p.starts_at <= now < p.ends_at]
            usage.queued = [p for p in usage.balance.packs if p.starts_at > now]
            usage.outlook = forecast.outlook(history[card.id], usage.balance, now, plans)
        shown.append(usage)
    return shown
