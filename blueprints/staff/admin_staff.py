"""Admins manage staff accounts: see them, change a role, disable an account (its sessions end at once)."""

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from blueprints.staff import bp, labels
from blueprints.staff.orders import _me
from extensions import db
from models import StaffUser
from rules.staff import actors, audit, staff_accounts
from web.rendering import redirect_after_post, render_page
from web.staff_auth import staff_required


def _member(username: str) -> StaffUser:
    staff = staff_accounts.find(username)
    if staff is None:
        abort(404)
    return staff


@bp.get("/admin/staff")
@staff_required("admin")
def admin_staff():
    """Every staff account with its role, two-step sign-in and last sign-in."""
    members = list(
        db.session.scalars(select(StaffUser).order_by(StaffUser.disabled_at.is_not(None), StaffUser.username))
    )
    # `me` is passed, not taken from the layout: an htmx fragment renders the content block alone.
    return render_page("staff/admin_staff.html", members=members, roles=staff_accounts.ROLES, me=_me())


@bp.post("/admin/staff/<username>/role")
@staff_required("admin")
def admin_staff_role(username: str):
    """A new role; their open sessions end, so the next request already runs with it (and asks for TOTP)."""
    staff, me = _member(username), _me()
    role = request.form.get("role", "")
    try:
        change = staff_accounts.change_role(staff, role, me)
    except (staff_accounts.StaffRefused, actors.NotAllowed) as error:
        flash(str(error), "error")
        change = None
    if change is not None:
        audit.record(me, "staff.role", None, *change)
        db.session.commit()
        flash(_("%(name)s is now %(role)s.", name=staff.username, role=labels.ROLE_NAMES.get(role, role)))
    return redirect_after_post(url_for("staff.admin_staff"))


@bp.post("/admin/staff/<username>/disable")
@staff_required("admin")
def admin_staff_disable(username: str):
    """End this account's access and every open session; it is kept for the audit log."""
    staff, me = _member(username), _me()
    if staff.id == me.id:
        flash(_("You cannot disable your own account."), "error")
    elif staff.disabled_at is None:
        staff_accounts.disable(staff)
        audit.record(
            me, "staff.disable", None, {"username": staff.username}, {"username": staff.username, "disabled": True}
        )
        db.session.commit()
        flash(_("%(name)s is disabled.", name=staff.username))
    return redirect_after_post(url_for("staff.admin_staff"))
