"""One-time sign-in codes: 6 digits, stored hashed, 5 minutes, 5 tries, a resend cool-down."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from extensions import db
from gateways import sms
from models import LoginCode, utcnow

LIFETIME = timedelta(minutes=5)
MAX_TRIES = 5
RESEND_AFTER = timedelta(seconds=60)
MAX_PER_HOUR = 5


class CodeRefused(Exception):
    """str() is a message for the user."""


def _hash(phone: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def _latest(phone: str, lock: bool = False) -> LoginCode | None:
    query = select(LoginCode).where(LoginCode.phone == phone).order_by(LoginCode.id.desc()).limit(1)
    # Locked while checking, so parallel guesses cannot share one try.
    return db.session.scalars(query.with_for_update() if lock else query).first()


def seconds_until_resend(phone: str) -> int:
    latest = _latest(phone)
    if latest is None:
        return 0
    return max(0, int((latest.created_at + RESEND_AFTER - utcnow()).total_seconds()) + 1)


def send_code(phone: str) -> None:
    """Create a code for `phone` and text it; the caller commits. Raises CodeRefused."""
    wait = seconds_until_resend(phone)
    if wait:
        raise CodeRefused(_("A code was just sent. You can ask for another in %(seconds)s s.", seconds=wait))
    sent_last_hour = db.session.scalar(
        select(func.count(LoginCode.id)).where(
            LoginCode.phone == phone, LoginCode.created_at > utcnow() - timedelta(hours=1)
        )
    )
    if (sent_last_hour or 0) >= MAX_PER_HOUR:
        raise CodeRefused(_("Too many codes for this number. Try again in an hour."))
    code = f"{secrets.randbelow(10**6):06d}"
    db.session.add(LoginCode(phone=phone, code_hash=_hash(phone, code), expires_at=utcnow() + LIFETIME))
    body = _("RoamRenew code: %(code)s. It expires in 5 minutes. Never share it.", code=code)
    message = sms.queue(phone, body, "login_code")
    assert message is not None  # only a dedupe_key makes queue() add nothing
    sms.deliver(message)  # the traveller is waiting: send now, the job retries a failure


def check_code(phone: str, code: str) -> None:
    """Accept `code` for `phone` once, or raise CodeRefused; the caller commits either way."""
    latest = _latest(phone, lock=True)
    if latest is None or latest.used_at is not None:
        raise CodeRefused(_("Ask for a code first."))
    if latest.expires_at < utcnow():
        raise CodeRefused(_("This code has expired. Ask for a new one."))
    if latest.attempts >= MAX_TRIES:
        raise CodeRefused(_("Too many wrong tries. Ask for a new code."))
    latest.attempts += 1
    code = (code or "").strip()
    if not (len(code) == 6 and code.isdigit() and hmac.compare_digest(latest.code_hash, _hash(phone, code))):
        left = MAX_TRIES - latest.attempts
        if left == 0:
            raise CodeRefused(_("Too many wrong tries. Ask for a new code."))
        raise CodeRefused(_("That code is not right. %(left)s tries left.", left=left))
    latest.used_at = utcnow()
