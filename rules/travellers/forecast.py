"""When will the data run out at the current rate, and which plan covers the rest of the trip.

The rate is the data used per day over the card's readings of the last WINDOW_DAYS days (one a day,
recorded by the jobs worker) and the live reading of today. Fewer than MIN_DAYS days: no forecast, and
the page says so.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from gateways.carrier import CardBalance
from models import Plan
from rules.offers import catalogue
from rules.text.formatting import HONG_KONG

WINDOW_DAYS = 7  # "at your usage this week"
MIN_DAYS = 2
# Each region includes the ones before it: a wider plan also covers a narrower trip.
REGION_RANK = {"hk": 0, "hk_cn": 1, "hk_cn_mo": 2}
DAY = timedelta(days=1)


def _hk_day(moment: datetime) -> date:
    return moment.replace(tzinfo=UTC).astimezone(HONG_KONG).date()


@dataclass(frozen=True)
class Outlook:
    """enough_readings False: too few days to say. runs_out_on set: the data ends days_before_end days
    before the pack it is in does (pack_ends_on), shortfall_mb short of the rest of the trip (queued
    packs counted); suggestion covers that."""

    enough_readings: bool
    mb_per_day: int = 0
    runs_out_on: date | None = None
    pack_ends_on: date | None = None
    days_before_end: int = 0
    next_starts_on: date | None = None  # the data runs out in a pack another follows: when that one starts
    shortfall_mb: int = 0
    suggestion: Plan | None = None
    suggestion_price_cents: int = 0


class LazyPlans:
    """The plans on sale, read once per page and only if a forecast needs them."""

    def __init__(self) -> None:
        self._plans: list[Plan] | None = None

    def get(self) -> list[Plan]:
        if self._plans is None:
            self._plans = catalogue.active_plans()
        return self._plans


def outlook(
    history: Sequence[tuple[date, int]], balance: CardBalance, now: datetime, plans: LazyPlans
) -> Outlook | None:
    """The forecast for the card's packs in use and those queued after them; None when there is nothing
    to run out (no active pack with a data limit).

    A queued pack's data counts from its start, so the forecast never contradicts the page's "N days
    left · Ends ..." (the end of the last pack): it says in which pack the data runs out, and when the
    next one starts."""
    active = [p for p in balance.packs if p.starts_at <= now < p.ends_at]
    limited = [p for p in active if p.left_mb is not None]
    if not limited or len(limited) != len(active):
        return None
    today = _hk_day(now)
    points = {day: used for day, used in history if today - timedelta(days=WINDOW_DAYS) <= day < today}
    points[today] = sum(pack.used_mb for pack in balance.packs)
    days = sorted(points)
    if len(days) < MIN_DAYS:
        return Outlook(enough_readings=False)
    rate = max(0.0, (points[days[-1]] - points[days[0]]) / (days[-1] - days[0]).days)
    if rate <= 0:
        return Outlook(enough_readings=True)
    queued = sorted((p for p in balance.packs if p.starts_at > now), key=lambda p: p.starts_at)
    segments = [_Segment(now, max(p.ends_at for p in active), sum(p.left_mb or 0 for p in active))]
    segments += [_Segment(p.starts_at, p.ends_at, p.left_mb) for p in queued]
    gaps = [(index, out) for index, segment in enumerate(segments) if (out := segment.runs_out(now, rate))]
    if not gaps:
        return Outlook(enough_readings=True, mb_per_day=round(rate))
    first, runs_out_at = gaps[0]
    shortfall = math.ceil(rate * sum((segments[index].ends - out) / DAY for index, out in gaps))
    # One plan started when the data first runs out lasts until the last day without data.
    span = (segments[gaps[-1][0]].ends - runs_out_at) / DAY
    region = _region(plans, [pack.plan_code for pack in limited])
    plan = suggest(plans.get(), region, shortfall, math.ceil(span), now)
    return Outlook(
        enough_readings=True,
        mb_per_day=round(rate),
        runs_out_on=_hk_day(runs_out_at),
        pack_ends_on=_hk_day(segments[first].ends),
        days_before_end=(_hk_day(segments[first].ends) - _hk_day(runs_out_at)).days,
        next_starts_on=_hk_day(segments[first + 1].starts) if first + 1 < len(segments) else None,
        shortfall_mb=shortfall,
        suggestion=plan,
        suggestion_price_cents=catalogue.current_price_cents(plan, now) if plan else 0,
    )


@dataclass(frozen=True)
class _Segment:
    """The packs in use, spent together until the last of them ends; or one queued pack. Data left
    when it ends is gone with it."""

    starts: datetime
    ends: datetime
    left_mb: int | None  # None: unlimited without a fair-use figure

    def runs_out(self, now: datetime, rate: float) -> datetime | None:
        """When its data runs out at `rate` MB a day, if that is a Hong Kong day or more before it ends."""
        if self.left_mb is None:
            return None
        out = max(self.starts, now) + timedelta(days=self.left_mb / rate)
        return out if (_hk_day(self.ends) - _hk_day(out)).days >= 1 else None


def _region(plans: LazyPlans, codes: Sequence[str | None]) -> str | None:
    ranks = [REGION_RANK.get(p.region, -1) for p in plans.get() if p.code in codes]
    if not ranks or max(ranks) < 0:
        return None
    return next(region for region, rank in REGION_RANK.items() if rank == max(ranks))


def suggest(plans: Sequence[Plan], region: str | None, need_mb: int, need_days: int, now: datetime) -> Plan | None:
    """The cheapest plan on sale, in the same region or a wider one, lasting need_days with need_mb."""
    floor = REGION_RANK.get(region, 0) if region else 0

    def fits(plan: Plan) -> bool:
        capacity = plan.data_mb if plan.data_mb is not None else plan.fair_use_mb
        return (
            REGION_RANK.get(plan.region, -1) >= floor
            and plan.days >= need_days
            and (capacity is None or capacity >= need_mb)
        )

    fitting = sorted(
        (plan for plan in plans if fits(plan)),
        key=lambda plan: (catalogue.current_price_cents(plan, now), plan.days, plan.sort_order),
    )
    return fitting[0] if fitting else None
