"""Admins edit the catalogue: plans and promo codes are created, edited and deactivated, never deleted.

- Nothing an order refers to is removed: deactivating takes a plan off sale (and a code out of use);
  existing orders keep their plan and their prices, which were copied onto the order when it was made.
- Every field is checked, and all mistakes of a form come back at once (CatalogueRefused.errors).
- Every change counts one catalogue version (rules/catalogue_version), so each worker's page cache
  forgets its catalogue pages within a second.

Use (a view):
    change = catalogue_admin.update_plan(plan, request.form, actor)   # CatalogueRefused, NotAllowed
    audit.record(actor, "plan.update", None, change.before, change.after)
    db.session.commit()
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from extensions import db
from models import Order, Plan, Promotion
from rules.offers import catalogue, catalogue_version, promotions
from rules.staff import actors
from rules.text.form_values import Collect, cents, cents_text, checked, hk_text, hk_time, required, whole_number

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


# --- plans -----------------------------------------------------------------------------------------


def create_plan(form: Mapping[str, Any], actor) -> AdminChange:
    actors.require(actor, "admin")
    plan = Plan(active=True)
    _apply(plan, _plan_values(form, None))
    db.session.add(plan)
    db.session.flush()
    catalogue_version.bump()
    return AdminChange(plan, {}, snapshot(plan))


def update_plan(plan: Plan, form: Mapping[str, Any], actor) -> AdminChange:
    """Change a plan; orders already made keep the prices they were made with."""
    actors.require(actor, "admin")
    before = snapshot(plan)
    _apply(plan, _plan_values(form, plan))
    db.session.flush()
    catalogue_version.bump()
    return AdminChange(plan, before, snapshot(plan))


def set_plan_active(plan: Plan, active: bool, actor) -> AdminChange:
    """Take a plan off sale (False) or put it back (True); it is never deleted."""
    actors.require(actor, "admin")
    before = snapshot(plan, ["active"])
    plan.active = active
    db.session.flush()
    catalogue_version.bump()
    return AdminChange(plan, before, snapshot(plan, ["active"]))


def _plan_values(form: Mapping[str, Any], plan: Plan | None) -> dict:
    f = Collect(form)
    values: dict[str, Any] = {"code": f.text("code").lower()}
    if not PLAN_CODE.fullmatch(values["code"]):
        f.refuse("code", _l("Use 2-40 lowercase letters, digits and dashes, e.g. gba-7d."))
    elif _taken(Plan, Plan.code, values["code"], plan):
        f.refuse("code", _l("Another plan has this code."))
    for name in ("name_en", "name_zh_hans", "name_zh_hant"):
        values[name] = f.read(name, required(80))
    values["region"] = f.text("region")
    if values["region"] not in catalogue.REGIONS:
        f.refuse("region", _l("Choose a region."))
    values["days"] = f.read("days", whole_number(1, 3650))
    unlimited = checked(f.text("unlimited"))
    values["data_mb"] = None if unlimited else f.read("data_mb", whole_number(1, 10**7))
    values["fair_use_mb"] = f.read("fair_use_mb", whole_number(1, 10**7)) if unlimited else None
    values["voice_minutes"] = f.read("voice_minutes", whole_number(0, 10**6, optional=True)) or 0
    values["currency"] = f.text("currency").upper() or "HKD"
    if values["currency"] not in CURRENCIES:
        f.refuse("currency", _l("Choose HKD or CNY."))
    values["price_cents"] = f.read("price", cents())
    values["sale_price_cents"] = f.read("sale_price", cents(optional=True))
    values["sale_starts_at"] = f.read("sale_starts_at", hk_time)
    values["sale_ends_at"] = f.read("sale_ends_at", hk_time)
    values["sort_order"] = f.read("sort_order", whole_number(0, 10**6, optional=True)) or 0
    if values["sale_price_cents"] is not None:
        if values["price_cents"] is not None and values["sale_price_cents"] >= values["price_cents"]:
            f.refuse("sale_price", _l("The sale price must be lower than the price."))
        if values["sale_starts_at"] is None:
            f.refuse("sale_starts_at", _l("A sale needs a start."))
        if values["sale_ends_at"] is None:
            f.refuse("sale_ends_at", _l("A sale needs an end."))
    _window(f, values["sale_starts_at"], values["sale_ends_at"], "sale_ends_at")
    if f.errors:
        raise CatalogueRefused(f.errors)
    return values


# --- promotions ------------------------------------------------------------------------------------


def create_promotion(form: Mapping[str, Any], actor) -> AdminChange:
    actors.require(actor, "admin")
    promotion = Promotion(active=True, uses_reserved=0)
    _apply(promotion, _promotion_values(form, None))
    db.session.add(promotion)
    db.session.flush()
    catalogue_version.bump()
    return AdminChange(promotion, {}, snapshot(promotion))


def update_promotion(promotion: Promotion, form: Mapping[str, Any], actor) -> AdminChange:
    actors.require(actor, "admin")
    before = snapshot(promotion)
    _apply(promotion, _promotion_values(form, promotion))
    db.session.flush()
    catalogue_version.bump()
    return AdminChange(promotion, before, snapshot(promotion))


def set_promotion_active(promotion: Promotion, active: bool, actor) -> AdminChange:
    """Stop a code being used (False) or allow it again (True); orders that used it keep it."""
    actors.require(actor, "admin")
    before = snapshot(promotion, ["active"])
    promotion.active = active
    db.session.flush()
    catalogue_version.bump()
    return AdminChange(promotion, before, snapshot(promotion, ["active"]))


def _promotion_values(form: Mapping[str, Any], promotion: Promotion | None) -> dict:
    f = Collect(form)
    values: dict[str, Any] = {"code": promotions.normalise_code(f.text("code"))}
    if not PROMO_CODE.fullmatch(values["code"]):
        f.refuse("code", _l("Use 3-32 capital letters and digits, e.g. WELCOME10."))
    elif _taken(Promotion, func.upper(Promotion.code), values["code"], promotion):
        f.refuse("code", _l("Another promotion has this code."))
    elif promotion is not None and values["code"] != promotion.code and _used(promotion):
        f.refuse("code", _l("Orders have used this code: it cannot be renamed. Make a new promotion."))
    values["percent_off"] = f.read("percent_off", whole_number(1, 100, optional=True))
    values["amount_off_cents"] = f.read("amount_off", cents(optional=True))
    both_read = "percent_off" not in f.errors and "amount_off" not in f.errors
    if both_read and (values["percent_off"] is None) == (values["amount_off_cents"] is None):
        f.refuse("percent_off", _l("Give either a percentage or an amount off, not both."))
    values["min_spend_cents"] = f.read("min_spend", cents(positive=False, optional=True)) or 0
    values["starts_at"] = f.read("starts_at", hk_time)
    values["ends_at"] = f.read("ends_at", hk_time)
    _window(f, values["starts_at"], values["ends_at"], "ends_at")
    values["max_uses"] = f.read("max_uses", whole_number(1, 10**9, optional=True))
    values["max_uses_per_account"] = f.read("max_uses_per_account", whole_number(1, 10**6, optional=True))
    if f.errors:
        raise CatalogueRefused(f.errors)
    return values


# --- shared ----------------------------------------------------------------------------------------


def _apply(thing, values: dict) -> None:
    for name, value in values.items():
        setattr(thing, name, value)


def _window(f: Collect, starts: datetime | None, ends: datetime | None, field_name: str) -> None:
    if starts is not None and ends is not None and ends <= starts:
        f.refuse(field_name, _l("The end must come after the start."))


def _taken(model, column, value: str, current) -> bool:
    query = select(model.id).where(column == value)
    if current is not None:
        query = query.where(model.id != current.id)
    return db.session.scalar(query.limit(1)) is not None


def _used(promotion: Promotion) -> bool:
    query = select(Order.id).where(Order.promotion_id == promotion.id).limit(1)
    return promotion.uses_reserved > 0 or db.session.scalar(query) is not None


def plan_form(plan: Plan) -> dict[str, str]:
    """A plan as its edit form's fields (times in Hong Kong time, amounts as 12.50)."""
    return {
        **{name: str(getattr(plan, name)) for name in ("code", "name_en", "name_zh_hans", "name_zh_hant", "region")},
        **{name: str(getattr(plan, name) or "") for name in ("days", "data_mb", "fair_use_mb", "voice_minutes")},
        "unlimited": "on" if plan.data_mb is None else "",
        "currency": plan.currency,
        "price": cents_text(plan.price_cents),
        "sale_price": cents_text(plan.sale_price_cents),
        "sale_starts_at": hk_text(plan.sale_starts_at),
        "sale_ends_at": hk_text(plan.sale_ends_at),
        "sort_order": str(plan.sort_order),
    }


def promotion_form(promotion: Promotion) -> dict[str, str]:
    return {
        "code": promotion.code,
        "percent_off": "" if promotion.percent_off is None else str(promotion.percent_off),
        "amount_off": cents_text(promotion.amount_off_cents),
        "min_spend": cents_text(promotion.min_spend_cents) if promotion.min_spend_cents else "",
        "starts_at": hk_text(promotion.starts_at),
        "ends_at": hk_text(promotion.ends_at),
        "max_uses": "" if promotion.max_uses is None else str(promotion.max_uses),
        "max_uses_per_account": "" if promotion.max_uses_per_account is None else str(promotion.max_uses_per_account),
    }
