"""Admins keep the locations (carrier shops, partner stores, airport counters): list, add, edit, close.

Never deleted: closing one takes it off /shops and stops its payments, its records stay. Every change is
audited; an edit names the version it was opened on, so two admins (or an admin and a payment in flight)
never overwrite each other unseen.
"""

from flask import abort, flash, url_for
from flask_babel import gettext as _

from blueprints.staff import bp
from blueprints.staff.orders import _me
from extensions import db
from models import Location
from rules.shops import places
from rules.staff import audit
from web.forms import EmptyForm
from web.rendering import redirect_after_post, render_page
from web.staff_auth import staff_required
from web.staff_location_forms import LocationForm


def _location(code: str) -> Location:
    location = places.by_code(code)
    if location is None:
        abort(404)
    return location


def _form(location: Location | None = None, posted: bool = True) -> LocationForm:
    form = LocationForm() if posted else LocationForm(formdata=None, obj=location)
    form.kind.choices = [(key, str(name)) for key, name in places.KINDS.items()]
    form.district.choices = [(key, str(name)) for key, name in places.DISTRICTS.items()]
    if location is not None and not posted:
        form.version.data = str(location.version)
    return form


def _page(form: LocationForm, location: Location | None, status: int = 200):
    return render_page("staff/location_form.html", status=status, form=form, location=location, close_form=EmptyForm())


@bp.get("/locations")
@staff_required("admin")
def admin_locations():
    """Every location, open ones first, with a link to edit it."""
    return render_page("staff/locations.html", locations=places.every(), KINDS=places.KINDS)


@bp.get("/locations/new")
@staff_required("admin")
def admin_location_new():
    form = _form(posted=False)
    form.open_on_holidays.data = form.renews.data = form.takes_cash.data = True
    return _page(form, None)


@bp.post("/locations/new")
@staff_required("admin")
def admin_location_create():
    """Add a location (audited)."""
    return _save(None)


@bp.get("/locations/<code>")
@staff_required("admin")
def admin_location_edit(code: str):
    location = _location(code)
    return _page(_form(location, posted=False), location)


@bp.post("/locations/<code>")
@staff_required("admin")
def admin_location_update(code: str):
    """Save an edit made on the version the form was opened on (audited)."""
    return _save(_location(code))


def _save(location: Location | None):
    form = _form(location)
    if not form.validate_on_submit():
        return _page(form, location, 422)
    me = _me()
    values = form.values()
    try:
        if location is None:
            location, after = places.create(values, me)
            before = None
        else:
            values["code"] = location.code
            before, after = places.edit(location, values, form.version.data or "", me)
    except places.LocationRefused as error:
        db.session.rollback()
        target = getattr(form, error.field or "", None) if (error.field or "") in form._fields else None
        (target if target is not None else form.code).errors = [str(error)]
        return _page(form, location if location is not None and location.id else None, 422)
    audit.record(me, "location.create" if before is None else "location.update", None, before, after)
    db.session.commit()
    flash(_("Saved %(code)s.", code=location.code))
    return redirect_after_post(url_for("staff.admin_locations"))


@bp.post("/locations/<code>/close")
@staff_required("admin")
def admin_location_close(code: str):
    """Close a location for good: off /shops, no more payments; its records stay (audited)."""
    location = _location(code)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        before, after = places.close(location, str(location.version), _me())
    except places.LocationRefused as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect_after_post(url_for("staff.admin_location_edit", code=code))
    audit.record(_me(), "location.close", None, before, after)
    db.session.commit()
    flash(_("%(code)s is closed.", code=location.code))
    return redirect_after_post(url_for("staff.admin_locations"))
