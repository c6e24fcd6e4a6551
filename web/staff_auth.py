"""The staff area's own session: its own keys in the signed session cookie, never Flask-Login's.

A traveller's session carries none of these keys, so it never opens a staff page. A staff session
ends after IDLE_SECONDS without use and MAX_SECONDS after sign-in, and at once when the person's
session token changes (sign-out, `flask staff disable`). Every staff view declares the least role it
needs with @staff_required(role) (or @staff_public for the sign-in pages): the role matrix test reads it.
"""

from collections.abc import Callable
from functools import wraps

from flask import abort, flash, g, request, session, url_for
from flask_babel import gettext as _

from extensions import db
from models import StaffUser
from rules.staff import staff_accounts
from rules.staff.staff_accounts import PARTNER as PARTNER_ROLE
from rules.staff.staff_accounts import ROLES, role_at_least
from web.rendering import redirect_full_page

IDLE_SECONDS = 30 * 60
MAX_SECONDS = 12 * 3600
PUBLIC = "public"  # the min role of the sign-in pages: open to anyone
KEY, PENDING = "staff", "staff_pending"  # session keys; a traveller's session has neither
PENDING_SECONDS = 5 * 60  # between the password and the code
TOUCH_EVERY = 60  # "seen" is rewritten at most this often


def _now() -> int:
    return int(staff_accounts.now())


def sign_in(staff: StaffUser) -> None:
    """Start a fresh staff session (rotating the whole cookie, CSRF token included)."""
    session.clear()
    moment = _now()
    session[KEY] = {"id": staff.id, "token": staff.session_token, "since": moment, "seen": moment}
    staff_accounts.signed_in(staff)


def sign_out(staff: StaffUser | None) -> None:
    if staff is not None:
        staff_accounts.end_sessions(staff)  # any copy of this cookie stops working too
    session.pop(KEY, None)
    session.pop(PENDING, None)


def start_pending(staff: StaffUser) -> None:
    """The password was right; the TOTP step comes next (within PENDING_SECONDS)."""
    session.pop(KEY, None)
    session[PENDING] = {"id": staff.id, "token": staff.session_token, "at": _now()}


def pending_staff() -> StaffUser | None:
    data = session.get(PENDING)
    if not isinstance(data, dict) or _now() - int(data.get("at", 0)) > PENDING_SECONDS:
        return None
    staff = db.session.get(StaffUser, int(data.get("id", 0)))
    if staff is None or staff.disabled_at is not None or staff.session_token != data.get("token"):
        return None
    return staff


def current_staff() -> StaffUser | None:
    """The signed-in member of staff, or None (their session ended or never began)."""
    if "staff_user" in g:
        return g.staff_user
    g.staff_user = _load()
    return g.staff_user


def _load() -> StaffUser | None:
    data = session.get(KEY)
    if not isinstance(data, dict):
        return None
    staff = db.session.get(StaffUser, int(data.get("id", 0)))
    moment = _now()
    alive = (
        staff is not None
        and staff.disabled_at is None
        and staff.session_token == data.get("token")
        and moment - int(data.get("since", 0)) <= MAX_SECONDS
        and moment - int(data.get("seen", 0)) <= IDLE_SECONDS
    )
    if not alive:
        session.pop(KEY, None)
        g.staff_session_ended = True
        return None
    if moment - int(data["seen"]) >= TOUCH_EVERY:
        session[KEY] = {**data, "seen": moment}
    return staff


def _to_sign_in():
    if g.get("staff_session_ended"):
        flash(_("Your staff session has ended. Please sign in again."), "error")
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect_full_page(url_for("staff.login", next=target))


def staff_required(min_role: str, partner: bool = False) -> Callable:
    """Only staff of `min_role` or above (and partners, with partner=True: the view then keeps them to their
    own location); anyone else goes to the staff sign-in (403 for a lower role or a partner)."""
    if min_role not in ROLES:
        raise ValueError(f"unknown staff role {min_role!r}")

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            staff = current_staff()
            if staff is None:
                return _to_sign_in()
            if not (role_at_least(staff.role, min_role) or (partner and staff.role == PARTNER_ROLE)):
                abort(403)
            return view(*args, **kwargs)

        wrapper.staff_min_role = min_role  # type: ignore[attr-defined]
        wrapper.staff_partner = partner  # type: ignore[attr-defined]
        return wrapper

    return decorate


def staff_public(view):
    """A staff page open to anyone (the sign-in steps): declared, so the role matrix knows it."""
    view.staff_min_role = PUBLIC
    return view


def is_partner() -> bool:
    """For templates and views: the signed-in member of staff is a partner (one location only)."""
    staff = current_staff()
    return staff is not None and staff.role == PARTNER_ROLE


def home_url(staff: StaffUser | None = None) -> str:
    """Where a member of staff starts: a partner at its counter, everyone else at the orders."""
    staff = staff or current_staff()
    return url_for("staff.counter" if staff is not None and staff.role == PARTNER_ROLE else "staff.home")


def may(minimum: str) -> bool:
    """For templates: whether the signed-in member of staff has at least this role."""
    staff = current_staff()
    return staff is not None and role_at_least(staff.role, minimum)
