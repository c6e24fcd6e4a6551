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
    before the pack does, shortfall_mb short of the rest of the trip; suggestion covers that."""

    enough_readings: bool
    mb_per_day: int = 0
    runs_out_on: date | None = None
    pack_ends_on: date | None = None
    days_before_end: int = 0
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
    """The forecast for the card's current packs; None when there is nothing to run out (no active pack
    with a data limit)."""
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
    ends = max(pack.ends_at for pack in limited)
    left = sum(pack.left_mb or 0 for pack in limited)
    if rate <= 0:
        return Outlook(enough_readings=True)
    runs_out_at = now + timedelta(days=left / rate)
    days_before_end = (_hk_day(ends) - _hk_day(runs_out_at)).days
    if runs_out_at >= ends or days_before_end < 1:
        return Outlook(enough_readings=True, mb_per_day=round(rate))
    uncovered = (ends - runs_out_at) / DAY
    shortfall = math.ceil(rate * uncovered)
    region = _region(plans, [pack.plan_code for pack in limited])
    plan = suggest(plans.get(), region, shortfall, math.ceil(uncovered), now)
    return Outlook(
        enough_readings=True,
        mb_per_day=round(rate),
        runs_out_on=_hk_day(runs_out_at),
        pack_ends_on=_hk_day(ends),
        days_before_end=days_before_end,
        shortfall_mb=shortfall,
        suggestion=plan,
        suggestion_price_cents=catalogue.current_price_cents(plan, now) if plan else 0,
    )


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
