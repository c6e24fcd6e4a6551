"""Admins edit the catalogue: plans and promo codes are listed, created, edited and taken off sale.

One set of views serves both kinds (KINDS): the form (web.catalogue_forms) reads the fields, the rules
(rules.offers.catalogue_admin) check what the values mean, and all of a form's mistakes are shown at once,
beside their fields. Each change is audited.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
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
from web.catalogue_forms import PlanForm, PromotionForm
from web.rendering import redirect_after_post, render_page
from web.staff_auth import staff_required

MAX_CODE = 40


@dataclass(frozen=True)
class Kind:
    model: Any
    title: Any
    form: Any  # PlanForm or PromotionForm: reads the posted fields; .of(thing) shows one to edit
    create: Callable[..., Any]
    update: Callable[..., Any]
    set_active: Callable[..., Any]
    action: str  # the audit log's prefix


KINDS = {
    "plans": Kind(
        Plan,
        _l("Plans"),
        PlanForm,
        catalogue_admin.create_plan,
        catalogue_admin.update_plan,
        catalogue_admin.set_plan_active,
        "plan",
    ),
    "promotions": Kind(
        Promotion,
        _l("Promotions"),
        PromotionForm,
        catalogue_admin.create_promotion,
        catalogue_admin.update_promotion,
        catalogue_admin.set_promotion_active,
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


def _form_page(kind_name: str, thing, form, status: int = 200):
    return render_page(
        "staff/admin_form.html", status=status, kind=_kind(kind_name), kind_name=kind_name, thing=thing, form=form
    )


@bp.get("/admin/<kind>")
@staff_required("admin")
def admin_list(kind: str):
    """Every plan (or promotion), offered or not, with a link to edit it."""
    found = _kind(kind)
    things = list(db.session.scalars(select(found.model).order_by(found.model.active.desc(), found.model.code)))
    return render_page("staff/admin_list.html", kind=found, kind_name=kind, things=things)


@bp.get("/admin/<kind>/new")
@staff_required("admin")
def admin_new(kind: str):
    return _form_page(kind, None, _kind(kind).form(formdata=None))


@bp.post("/admin/<kind>/new")
@staff_required("admin")
def admin_create(kind: str):
    found = _kind(kind)
    return _save(kind, found, None, found.create, ".create")


@bp.get("/admin/<kind>/<code>")
@staff_required("admin")
def admin_edit(kind: str, code: str):
    found = _kind(kind)
    thing = _thing(found, code)
    return _form_page(kind, thing, found.form.of(thing))


@bp.post("/admin/<kind>/<code>")
@staff_required("admin")
def admin_update(kind: str, code: str):
    found = _kind(kind)
    thing = _thing(found, code)
    return _save(kind, found, thing, partial(found.update, thing), ".update")


def _save(kind_name: str, kind: Kind, thing, change, action: str):
    """`change(values, actor, refused)`: the rule, given what the form read and the fields it could not."""
    form = kind.form()
    form.validate()
    me = _me()
    try:
        result = change(form.values(), me, form.mistakes())
    except catalogue_admin.CatalogueRefused as error:
        db.session.rollback()
        form.refused(error.errors)
        return _form_page(kind_name, thing, form, 422)
    audit.record(me, kind.action + action, None, result.before, result.after)
    db.session.commit()
    flash(_("Saved %(code)s.", code=result.thing.code))
    return redirect_after_post(url_for("staff.admin_list", kind=kind_name))


@bp.post("/admin/<kind>/<code>/active")
@staff_required("admin")
def admin_active(kind: str, code: str):
    """Stop offering (active=0) or offer again (active=1); never deleted, so orders keep what they refer to."""
    found = _kind(kind)
    thing = _thing(found, code)
    me = _me()
    result = found.set_active(thing, request.form.get("active") == "1", me)
    if result.before != result.after:
        audit.record(me, found.action + ".active", None, result.before, result.after)
    db.session.commit()
    # "Offered", not "on sale": a sale is a lower price for a while (Plan.sale_price_cents).
    flash(
        _("%(code)s is offered.", code=thing.code)
        if thing.active
        else _("%(code)s is no longer offered.", code=thing.code)
    )
    return redirect_after_post(url_for("staff.admin_list", kind=kind))
