"""The plan catalogue: which plans are on sale, how they filter, what they cost right now."""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from extensions import db
from models import Plan, utcnow

REGIONS = {
    "hk": _l("Hong Kong"),
    "hk_cn": _l("Hong Kong + mainland China"),
    "hk_cn_mo": _l("Hong Kong + mainland + Macau"),
}
LENGTHS = {"trip": _l("Trips (1-7 days)"), "resident": _l("Long stays (30+ days)")}
TRIP_MAX_DAYS = 7


def active_plans(length: str | None = None, region: str | None = None) -> list[Plan]:
    """Plans on sale, optionally filtered; unknown filter values are ignored rather than refused."""
    query = select(Plan).where(Plan.active.is_(True))
    if length == "trip":
        query = query.where(Plan.days <= TRIP_MAX_DAYS)
    elif length == "resident":
        query = query.where(Plan.days > TRIP_MAX_DAYS)
    if region in REGIONS:
        query = query.where(Plan.region == region)
    return list(db.session.scalars(query.order_by(Plan.sort_order, Plan.price_cents, Plan.id)))


def plan_by_code(code: str) -> Plan | None:
    return db.session.scalars(select(Plan).where(Plan.code == code, Plan.active.is_(True))).first()


def on_sale(plan: Plan, now: datetime | None = None) -> bool:
    if plan.sale_price_cents is None or plan.sale_price_cents >= plan.price_cents:
        return False
    now = now or utcnow()
    starts_ok = plan.sale_starts_at is None or plan.sale_starts_at <= now
    ends_ok = plan.sale_ends_at is None or now < plan.sale_ends_at
    return starts_ok and ends_ok


def seconds_until_price_change(plans: list[Plan], now: datetime | None = None) -> float | None:
    """Seconds until a sale of one of `plans` starts or ends (their prices change then), or None."""
    now = now or utcnow()
    moments = [m for plan in plans for m in (plan.sale_starts_at, plan.sale_ends_at) if m is not None and m > now]
    return (min(moments) - now).total_seconds() if moments else None


def current_price_cents(plan: Plan, now: datetime | None = None) -> int:
    """What the plan costs at `now`: the sale price inside its window, else the list price."""
    return plan.sale_price_cents if plan.sale_price_cents is not None and on_sale(plan, now) else plan.price_cents
