"""Staff accounts: Argon2 passwords, roles, TOTP second factor, sign-in limits, disabling.

Staff are not travellers: their own table, their own session keys (web/staff_auth). A TOTP code is
accepted once only (the step it belongs to is remembered), and supervisors and admins must have one.
Failed sign-ins are rows, counted per username and per address over the STAFF_LOGIN_* windows, so
the limits hold across app servers; each sign-in claims its row before anything is checked, so they
hold exactly under concurrency too.
"""

import hmac
import re
import time
from datetime import timedelta
from typing import cast

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.engine import CursorResult

from extensions import db
from models import StaffLoginAttempt, StaffUser, new_token, utcnow
from rules import turns
from rules.staff import actors
from rules.travellers import login_codes

ROLES = ("agent", "supervisor", "admin")  # each may do what the ones before it may
PARTNER = actors.PARTNER  # outside the ranks: one location's counter, its receipts and its takings only
ALL_ROLES = (PARTNER, *ROLES)
TOTP_REQUIRED = frozenset({"supervisor", "admin"})
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 256
ISSUER = "RoamRenew staff"
_hasher = PasswordHasher()
# A hash to check against when the username is unknown, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class StaffRefused(Exception):
    """str() is a message for the member of staff."""


class TooManyAttempts(StaffRefused):
    """A sign-in limit is reached (the view answers 429)."""


def now() -> float:
    """Seconds since the epoch (a function, so tests can move the clock)."""
    return time.time()


def role_at_least(role: str | None, minimum: str) -> bool:
    return role in ROLES and ROLES.index(role) >= ROLES.index(minimum)


def totp_required(staff: StaffUser) -> bool:
    return staff.role in TOTP_REQUIRED


def clean_username(username: str | None) -> str:
    """As stored: lower case, at most 40 characters, nothing unprintable (PostgreSQL refuses a NUL byte)."""
    return "".join(ch for ch in (username or "").strip().lower() if ch.isprintable())[:40]


def find(username: str | None) -> StaffUser | None:
    name = clean_username(username)
    return db.session.scalars(select(StaffUser).where(StaffUser.username == name)).first() if name else None


def create(username: str, password: str, role: str, location_id: int | None = None) -> StaffUser:
    """A new member of staff (a partner names its one location); the caller commits. Raises StaffRefused."""
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise StaffRefused("a username is 2-40 characters: lower-case letters, digits, . _ -")
    if role not in ALL_ROLES:
        raise StaffRefused(f"role must be one of {', '.join(ALL_ROLES)}")
    if (role == PARTNER) != (location_id is not None):
        raise StaffRefused("a partner needs its location (--location CODE), and only a partner has one")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise StaffRefused(f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    if find(name) is not None:
        raise StaffRefused(f"{name} already exists")
    staff = StaffUser(username=name, password_hash=_hasher.hash(password), role=role, location_id=location_id)
    db.session.add(staff)
    db.session.flush()
    return staff


def disable(staff: StaffUser) -> None:
    """End this person's access and every open session at once; the caller commits."""
    staff.disabled_at = staff.disabled_at or utcnow()
    staff.session_token = new_token()


def end_sessions(staff: StaffUser) -> None:
    staff.session_token = new_token()


def change_role(target: StaffUser, role: str, actor) -> tuple[dict, dict] | None:
    """Give `target` a new role; their open sessions end, so the next request already runs with it (and a
    supervisor's or admin's asks for TOTP). Returns (before, after) for the audit log, or None when the role
    is already theirs; the caller commits. Raises StaffRefused (an unknown role, an admin's own role)."""
    if role not in ROLES:
        raise StaffRefused(_("Choose a role."))
    actors.require(actor, "admin")  # NotAllowed: a CLI or a new page cannot do it as someone less
    if target.id == getattr(actor, "id", None):
        raise StaffRefused(_("You cannot change your own role."))
    if role == target.role:
        return None
    before = {"username": target.username, "role": target.role}
    target.role = role
    target.location_id = None  # a partner's location goes with the partner role
    end_sessions(target)
    return before, {"username": target.username, "role": role}


# --- the sign-in limits --------------------------------------------------------------------------


def _limit(setting: str) -> tuple[int, timedelta]:
    import limits

    item = limits.parse(current_app.config[setting])
    return item.amount, timedelta(seconds=item.get_expiry())


def _attempts(since, condition) -> int:
    query = select(func.count(StaffLoginAttempt.id)).where(StaffLoginAttempt.created_at > since, condition)
    return db.session.scalar(query) or 0


def claim_attempt(username: str, ip: str | None) -> StaffLoginAttempt:
    """Count this sign-in against the limits before any password or code is checked, or raise
    TooManyAttempts. It is recorded as a failure at once (and committed, so parallel sign-ins see
    it before the slow password check); a sign-in that succeeds takes it back (succeeded()).
    The row goes in first and the count includes it, taking turns per username and address: of 40
    sign-ins at once against a limit of 10, exactly 10 get to check a password."""
    name = clean_username(username)
    db.session.commit()  # a fresh transaction: SQLite's write lock is taken by the insert below
    turns.take_turns(f"staff-login-user:{name}", f"staff-login-ip:{ip}")
    attempt = StaffLoginAttempt(username=name, ip=ip, created_at=utcnow())
    db.session.add(attempt)
    db.session.flush()
    checks = [("STAFF_LOGIN_USER_LIMIT", StaffLoginAttempt.username == name)]
    if ip:
        checks.append(("STAFF_LOGIN_IP_LIMIT", StaffLoginAttempt.ip == ip))
    for setting, condition in checks:
        most, window = _limit(setting)
        if _attempts(attempt.created_at - window, condition) > most:
            db.session.delete(attempt)
            db.session.commit()
            raise TooManyAttempts(
                _("Too many failed sign-ins for this username. Try again later.")
                if setting == "STAFF_LOGIN_USER_LIMIT"
                else _("Too many failed sign-ins from this connection. Try again later.")
            )
    db.session.commit()
    return attempt


def succeeded(attempt: StaffLoginAttempt) -> None:
    """A right password or code is not a failure: the claimed attempt no longer counts."""
    db.session.execute(delete(StaffLoginAttempt).where(StaffLoginAttempt.id == attempt.id))


# --- the password step ---------------------------------------------------------------------------


def check_password(username: str, password: str, ip: str | None) -> StaffUser:
    """The member of staff whose username and password these are. Raises StaffRefused (the failure is
    recorded; the caller commits either way)."""
    attempt = claim_attempt(username, ip)
    staff = find(username)
    try:
        _hasher.verify(staff.password_hash if staff else _DUMMY_HASH, password[:MAX_PASSWORD])
        good = staff is not None and staff.disabled_at is None
    except (VerificationError, InvalidHashError):
        good = False
    if not good or staff is None:
        raise StaffRefused(_("Wrong username or password, or the account is disabled."))
    succeeded(attempt)
    if _hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = _hasher.hash(password)
    return staff


# --- TOTP ----------------------------------------------------------------------------------------


def start_enrolment(staff: StaffUser) -> str:
    """A secret for a member of staff who has none enabled yet (kept until a code confirms it)."""
    if not staff.totp_enabled and not staff.totp_secret:
        staff.totp_secret = pyotp.random_base32()
    return cast(str, staff.totp_secret)


def provisioning_uri(staff: StaffUser) -> str:
    return pyotp.TOTP(start_enrolment(staff)).provisioning_uri(name=staff.username, issuer_name=ISSUER)


def qr_svg(staff: StaffUser) -> Markup:
    """The enrolment QR code as inline SVG (an authenticator app scans it)."""
    return Markup(segno.make(provisioning_uri(staff), error="m").svg_inline(scale=4, border=2, dark="#1b2428"))


def _matching_step(secret: str, code: str, moment: float) -> int | None:
    totp = pyotp.TOTP(secret)
    current = int(moment) // totp.interval
    for step in (current - 1, current, current + 1):  # a phone's clock may be 30 s off
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def check_code(staff: StaffUser, typed: str | None, ip: str | None) -> None:
    """Accept a TOTP code once: a wrong code, or one already used (its step or an earlier one), is
    refused. Enables TOTP on the first good code. Raises StaffRefused; the caller commits."""
    attempt = claim_attempt(staff.username, ip)
    code = login_codes.clean_code(typed)  # full-width digits and spaces are fine; other text is no code
    step = _matching_step(staff.totp_secret, code, now()) if staff.totp_secret and code else None
    if step is None:
        raise StaffRefused(_("That code is not right. Type the 6 digits your app shows now."))
    # One conditional UPDATE: of two sign-ins with the same code, one wins.
    taken = db.session.execute(
        update(StaffUser)
        .where(
            StaffUser.id == staff.id,
            or_(StaffUser.totp_last_step.is_(None), StaffUser.totp_last_step < step),
        )
        .values(totp_last_step=step, totp_enabled=True)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(staff)
    if cast(CursorResult, taken).rowcount != 1:
        raise StaffRefused(_("That code was already used. Wait for the next one."))
    succeeded(attempt)


def signed_in(staff: StaffUser) -> None:
    staff.last_login_at = utcnow()
