"""Admins edit the catalogue: plans and promo codes are created, edited and deactivated, never deleted.

- Nothing an order refers to is removed: deactivating takes a plan off sale (and a code out of use);
  existing orders keep their plan and their prices, which were copied onto the order when it was made.
- The values come read (web/catalogue_forms: each field's shape, range and amount); these rules check what
  they mean together: a code no other plan or promotion has, a sale below the price within its window,
  an end after the start, a used code never renamed. The caller passes the fields it could not read
  (`refused`, field -> message): checks on those are skipped, and all mistakes come back at once
  (CatalogueRefused.errors).
- Every change counts one catalogue version (rules/catalogue_version), so each worker's page cache
  forgets its catalogue pages within a second.

Use (a view):
    change = catalogue_admin.update_plan(plan, form.values(), actor, form.mistakes())  # CatalogueRefused
    audit.record(actor, "plan.update", None, change.before, change.after)
    db.session.commit()
"""

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from extensions import db
from models import Order, Plan, Promotion
from rules.offers import catalogue_version
from rules.staff import actors

PLAN_CODE = re.compile(r"[a-z0-9][a-z0-9-]{1,39}")
PROMO_CODE = re.compile(r"[A-Z0-9]{3,32}")
CURRENCIES = ("HKD", "CNY")
PLAN_FIELDS = [
    "code",
    "name_en",
    "name_zh_hans",
    "name_zh_hant",
    "region",
    "days",
    "data_mb",
    "fair_use_mb",
    "voice_minutes",
    "currency",
    "price_cents",
    "sale_price_cents",
    "sale_starts_at",
    "sale_ends_at",
    "sort_order",
    "active",
]
PROMO_FIELDS = [
    "code",
    "percent_off",
    "amount_off_cents",
    "min_spend_cents",
    "starts_at",
    "ends_at",
    "max_uses",
    "max_uses_per_account",
    "active",
]


@dataclass(frozen=True)
class PlanValues:
    """A plan's fields as read; times in naive UTC, amounts in cents, data_mb None for unlimited data."""

    code: str
    name_en: str
    name_zh_hans: str
    name_zh_hant: str
    region: str
    days: int
    data_mb: int | None
    fair_use_mb: int | None
    voice_minutes: int
    currency: str
    price_cents: int
    sale_price_cents: int | None
    sale_starts_at: datetime | None
    sale_ends_at: datetime | None
    sort_order: int


@dataclass(frozen=True)
class PromotionValues:
    """A promotion's fields as read: a percentage or an amount off (cents), times in naive UTC."""

    code: str
    percent_off: int | None
    amount_off_cents: int | None
    min_spend_cents: int
    starts_at: datetime | None
    ends_at: datetime | None
    max_uses: int | None
    max_uses_per_account: int | None


class CatalogueRefused(ValueError):
    """Nothing was saved; `errors` maps each field at fault to a message for people."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(next(iter(errors.values())))
        self.errors = errors


@dataclass
class AdminChange:
    thing: Plan | Promotion
    before: dict = field(default_factory=dict)  # {} when created
    after: dict = field(default_factory=dict)


def snapshot(thing: Plan | Promotion | None, names=None) -> dict:
    if thing is None:
        return {}
    names = names or (PLAN_FIELDS if isinstance(thing, Plan) else PROMO_FIELDS)
    values = {name: getattr(thing, name) for name in names}
    return {name: value.isoformat() if isinstance(value, datetime) else value for name, value in values.items()}


class _Refusals:
    """The refusals of one form: those the caller found reading it first, then the rules' own (one per field)."""

    def __init__(self, refused: Mapping[str, str] | None):
        self.errors: dict[str, str] = dict(refused or {})
        self.unread = set(self.errors)

    def read(self, *names: str) -> bool:
        """Whether these fields were read: a check on a field that was not is skipped."""
        return self.unread.isdisjoint(names)

    def refuse(self, name: str, message) -> None:
        self.errors.setdefault(name, str(message))

    def raise_any(self) -> None:
        if self.errors:
            raise CatalogueRefused(self.errors)


def _save(thing: Plan | Promotion, values, before: dict) -> AdminChange:
    """Write checked values (a new plan or promotion is added) and count the catalogue's change."""
    _apply(thing, values)
    db.session.add(thing)
    db.session.flush()
    catalogue_version.bump()
    return AdminChange(thing, before, snapshot(thing))


def _set_active(thing: Plan | Promotion, active: bool) -> AdminChange:
    before = snapshot(thing, ["active"])
    thing.active = active
    db.session.flush()
    catalogue_version.bump()
    return AdminChange(thing, before, snapshot(thing, ["active"]))


# --- plans -----------------------------------------------------------------------------------------


def create_plan(values: PlanValues, actor, refused: Mapping[str, str] | None = None) -> AdminChange:
    """A new plan, on sale. `refused`: the fields the caller could not read (field -> message)."""
    actors.require(actor, "admin")
    _check_plan(values, None, refused)
    return _save(Plan(active=True), values, {})


def update_plan(plan: Plan, values: PlanValues, actor, refused: Mapping[str, str] | None = None) -> AdminChange:
    """Change a plan; orders already made keep the prices they were made with."""
    actors.require(actor, "admin")
    _check_plan(values, plan, refused)
    return _save(plan, values, snapshot(plan))


def set_plan_active(plan: Plan, active: bool, actor) -> AdminChange:
    """Take a plan off sale (False) or put it back (True); it is never deleted."""
    actors.require(actor, "admin")
    return _set_active(plan, active)


def _check_plan(values: PlanValues, plan: Plan | None, refused: Mapping[str, str] | None) -> None:
    f = _Refusals(refused)
    if f.read("code") and _taken(Plan, Plan.code, values.code, plan):
        f.refuse("code", _l("Another plan has this code."))
    if values.sale_price_cents is not None and f.read("sale_price"):
        if f.read("price") and values.sale_price_cents >= values.price_cents:
            f.refuse("sale_price", _l("The sale price must be lower than the price."))
        if values.sale_starts_at is None:
            f.refuse("sale_starts_at", _l("A sale needs a start."))
        if values.sale_ends_at is None:
            f.refuse("sale_ends_at", _l("A sale needs an end."))
    _window(f, values.sale_starts_at, values.sale_ends_at, "sale_starts_at", "sale_ends_at")
    f.raise_any()


# --- promotions ------------------------------------------------------------------------------------


def create_promotion(values: PromotionValues, actor, refused: Mapping[str, str] | None = None) -> AdminChange:
    """A new promotion code, usable at once. `refused`: the fields the caller could not read."""
    actors.require(actor, "admin")
    _check_promotion(values, None, refused)
    return _save(Promotion(active=True, uses_reserved=0), values, {})


def update_promotion(
    promotion: Promotion, values: PromotionValues, actor, refused: Mapping[str, str] | None = None
) -> AdminChange:
    actors.require(actor, "admin")
    _check_promotion(values, promotion, refused)
    return _save(promotion, values, snapshot(promotion))


def set_promotion_active(promotion: Promotion, active: bool, actor) -> AdminChange:
    """Stop a code being used (False) or allow it again (True); orders that used it keep it."""
    actors.require(actor, "admin")
    return _set_active(promotion, active)


def _check_promotion(values: PromotionValues, promotion: Promotion | None, refused: Mapping[str, str] | None) -> None:
    f = _Refusals(refused)
    if f.read("code"):
        if _taken(Promotion, func.upper(Promotion.code), values.code, promotion):
            f.refuse("code", _l("Another promotion has this code."))
        elif promotion is not None and values.code != promotion.code and _used(promotion):
            f.refuse("code", _l("Orders have used this code: it cannot be renamed. Make a new promotion."))
    if f.read("percent_off", "amount_off") and (values.percent_off is None) == (values.amount_off_cents is None):
        f.refuse("percent_off", _l("Give either a percentage or an amount off, not both."))
    _window(f, values.starts_at, values.ends_at, "starts_at", "ends_at")
    f.raise_any()


# --- shared ----------------------------------------------------------------------------------------


def _apply(thing, values: PlanValues | PromotionValues) -> None:
    for name, value in asdict(values).items():
        setattr(thing, name, value)


def _window(f: _Refusals, starts: datetime | None, ends: datetime | None, starts_field: str, ends_field: str) -> None:
    if f.read(starts_field, ends_field) and starts is not None and ends is not None and ends <= starts:
        f.refuse(ends_field, _l("The end must come after the start."))


def _taken(model, column, value: str, current) -> bool:
    query = select(model.id).where(column == value)
    if current is not None:
        query = query.where(model.id != current.id)
    return db.session.scalar(query.limit(1)) is not None


def _used(promotion: Promotion) -> bool:
    query = select(Order.id).where(Order.promotion_id == promotion.id).limit(1)
    return promotion.uses_reserved > 0 or db.session.scalar(query) is not None
