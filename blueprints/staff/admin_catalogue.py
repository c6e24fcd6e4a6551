"""Admins edit the catalogue: plans and promo codes are listed, created, edited and taken off sale.

One set of views serves both kinds (KINDS); the rules (rules.offers.catalogue_admin) check every field and
return all of a form's mistakes at once, shown beside their fields. Each change is audited.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from blueprints.staff import bp
from blueprints.staff.orders import _me
from extensions import db
from models import Plan, Promotion
from rules.offers import catalogue_admin
from rules.staff import audit
from web.rendering import redirect_after_post, render_page
from web.staff_auth import staff_required

MAX_CODE = 40


@dataclass(frozen=True)
class Kind:
    model: Any
    title: Any
    fields: tuple[tuple[str, Any, str], ...]  # (form name, label, input type)
    create: Callable[..., Any]
    update: Callable[..., Any]
    set_active: Callable[..., Any]
    to_form: Callable[..., Any]
    action: str  # the audit log's prefix


PLAN_FIELDS = (
    ("code", _l("Code"), "text"),
    ("name_en", _l("Name in English"), "text"),
    ("name_zh_hans", _l("Name in Simplified Chinese"), "text"),
    ("name_zh_hant", _l("Name in Traditional Chinese"), "text"),
    ("region", _l("Region"), "text"),
    ("days", _l("Days"), "number"),
    ("data_mb", _l("Data (MB)"), "number"),
    ("unlimited", _l("Unlimited data (fair use)"), "checkbox"),
    ("fair_use_mb", _l("Fair use (MB)"), "number"),
    ("voice_minutes", _l("Voice minutes"), "number"),
    ("currency", _l("Currency"), "text"),
    ("price", _l("Price"), "text"),
    ("sale_price", _l("Sale price (optional)"), "text"),
    ("sale_starts_at", _l("Sale starts (Hong Kong time)"), "text"),
    ("sale_ends_at", _l("Sale ends (Hong Kong time)"), "text"),
    ("sort_order", _l("Order in the list"), "number"),
)
PROMO_FIELDS = (
    ("code", _l("Code"), "text"),
    ("percent_off", _l("Percent off"), "number"),
    ("amount_off", _l("Amount off"), "text"),
    ("min_spend", _l("Minimum spend"), "text"),
    ("starts_at", _l("Starts (Hong Kong time)"), "text"),
    ("ends_at", _l("Ends (Hong Kong time)"), "text"),
    ("max_uses", _l("Uses at most"), "number"),
    ("max_uses_per_account", _l("Uses per account at most"), "number"),
)
KINDS = {
    "plans": Kind(
        Plan,
        _l("Plans"),
        PLAN_FIELDS,
        catalogue_admin.create_plan,
        catalogue_admin.update_plan,
        catalogue_admin.set_plan_active,
        catalogue_admin.plan_form,
        "plan",
    ),
    "promotions": Kind(
        Promotion,
        _l("Promotions"),
        PROMO_FIELDS,
        catalogue_admin.create_promotion,
        catalogue_admin.update_promotion,
        catalogue_admin.set_promotion_active,
        catalogue_admin.promotion_form,
        "promotion",
    ),
}


def _kind(kind: str) -> Kind:
    if kind not in KINDS:
        abort(404)
    return KINDS[kind]


def _thing(kind: Kind, code: str):
    thing = db.session.scalars(select(kind.model).where(kind.model.code == code[:MAX_CODE])).first()
    if thing is None:
        abort(404)
    return thing


def _form_page(kind_name: str, thing, values: dict, errors: dict | None = None, status: int = 200):
    kind = _kind(kind_name)
    return render_page(
        "staff/admin_form.html",
        status=status,
        kind=kind,
        kind_name=kind_name,
        thing=thing,
        values=values,
        errors=errors or {},
    )


@bp.get("/admin/<kind>")
@staff_required("admin")
def admin_list(kind: str):
    """Every plan (or promotion), on sale or not, with a link to edit it."""
    found = _kind(kind)
    things = list(db.session.scalars(select(found.model).order_by(found.model.active.desc(), found.model.code)))
    return render_page("staff/admin_list.html", kind=found, kind_name=kind, things=things)


@bp.get("/admin/<kind>/new")
@staff_required("admin")
def admin_new(kind: str):
    return _form_page(kind, None, {})


@bp.post("/admin/<kind>/new")
@staff_required("admin")
def admin_create(kind: str):
    found = _kind(kind)
    return _save(kind, found, None, lambda form, me: found.create(form, me), ".create")


@bp.get("/admin/<kind>/<code>")
@staff_required("admin")
def admin_edit(kind: str, code: str):
    found = _kind(kind)
    thing = _thing(found, code)
    return _form_page(kind, thing, found.to_form(thing))


@bp.post("/admin/<kind>/<code>")
@staff_required("admin")
def admin_update(kind: str, code: str):
    found = _kind(kind)
    thing = _thing(found, code)
    return _save(kind, found, thing, lambda form, me: found.update(thing, form, me), ".update")


def _save(kind_name: str, kind: Kind, thing, change, action: str):
    me = _me()
    try:
        result = change(request.form, me)
    except catalogue_admin.CatalogueRefused as error:
        db.session.rollback()
        return _form_page(kind_name, thing, request.form.to_dict(), error.errors, 422)
    audit.record(me, kind.action + action, None, result.before, result.after)
    db.session.commit()
    flash(_("Saved %(code)s.", code=result.thing.code))
    return redirect_after_post(url_for("staff.admin_list", kind=kind_name))


@bp.post("/admin/<kind>/<code>/active")
@staff_required("admin")
def admin_active(kind: str, code: str):
    """Take off sale (active=0) or put back (active=1); never deleted, so orders keep what they refer to."""
    found = _kind(kind)
    thing = _thing(found, code)
    me = _me()
    result = found.set_active(thing, request.form.get("active") == "1", me)
    if result.before != result.after:
        audit.record(me, found.action + ".active", None, result.before, result.after)
    db.session.commit()
    flash(_("%(code)s is on sale.", code=thing.code) if thing.active else _("%(code)s is off sale.", code=thing.code))
    return redirect_after_post(url_for("staff.admin_list", kind=kind))
