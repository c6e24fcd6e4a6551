"""One-time codes texted to a number: 6 digits, stored hashed, 5 minutes, 5 tries, a resend cool-down.

A code proves that whoever types it holds the number: to sign in (SIGN_IN), or to bind a card
(BIND_CARD: the code is tied to the account asking, so nobody else's code or cool-down gets in
the way). The hourly limits are counted in the database, so they hold exactly however many app
servers run: per number and purpose *for each requesting address* (and the resend cool-down too), so
strangers asking for a number's codes never use up its owner's, and per requesting address overall.
"""

import hashlib
import hmac
import math
import secrets
import unicodedata
from datetime import timedelta

import limits
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select, update

from extensions import db
from gateways import sms
from models import LoginCode, utcnow
from rules import turns

SIGN_IN, BIND_CARD = "sign_in", "bind_card"
LIFETIME = timedelta(minutes=5)
MAX_TRIES = 5
RESEND_AFTER = timedelta(seconds=60)


class CodeRefused(Exception):
    """str() is a message for the user."""


class TooManyCodes(CodeRefused):
    """An hourly limit is reached (the view answers 429)."""


def _hash(phone: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def limit(setting: str) -> tuple[int, timedelta]:
    """A limit setting ("5 per hour", as Flask-Limiter writes them) as (count, window)."""
    item = limits.parse(current_app.config[setting])
    return item.amount, timedelta(seconds=item.get_expiry())


def _same_codes(phone: str, purpose: str, account_id: int | None) -> list:
    conditions = [LoginCode.phone == phone, LoginCode.purpose == purpose]
    if purpose == BIND_CARD:
        conditions.append(LoginCode.account_id == account_id)
    return conditions


def _by(ip: str | None):
    return LoginCode.ip == ip if ip else LoginCode.ip.is_(None)


def _latest(
    phone: str, purpose: str, account_id: int | None, before_id: int | None = None, *, asked_from: str | None = None
) -> LoginCode | None:
    """The latest code for this number and purpose; with `asked_from`, the latest asked from that address."""
    query = select(LoginCode).where(*_same_codes(phone, purpose, account_id))
    if asked_from is not None:
        query = query.where(_by(asked_from))
    if before_id is not None:
        query = query.where(LoginCode.id < before_id)
    return db.session.scalars(query.order_by(LoginCode.id.desc()).limit(1)).first()


def _wait(latest: LoginCode | None) -> int:
    if latest is None:
        return 0
    return max(0, math.ceil((latest.created_at + RESEND_AFTER - utcnow()).total_seconds()))


def seconds_until_resend(
    phone: str, purpose: str = SIGN_IN, account_id: int | None = None, ip: str | None = None
) -> int:
    return _wait(_latest(phone, purpose, account_id, asked_from=ip))


def _count_since(since, *conditions) -> int:
    return db.session.scalar(select(func.count(LoginCode.id)).where(LoginCode.created_at > since, *conditions)) or 0


def send_code(phone: str, ip: str | None, purpose: str = SIGN_IN, account_id: int | None = None) -> int:
    """Create a code for `phone` and queue its text; the caller commits, then sends the returned outbox
    message at once (sms.send_now: the traveller is waiting). Raises CodeRefused (nothing kept)."""
    turns.take_turns(f"code-number:{purpose}:{phone}", f"code-ip:{ip}")
    code = f"{secrets.randbelow(10**6):06d}"
    now = utcnow()
    row = LoginCode(
        phone=phone,
        purpose=purpose,
        account_id=account_id,
        ip=ip,
        code_hash=_hash(phone, code),
        created_at=now,
        expires_at=now + LIFETIME,
    )
    # The row first, then the counts that include it: no other sender can slip in between.
    db.session.add(row)
    db.session.flush()
    try:
        _check_limits(row)
    except CodeRefused:
        db.session.delete(row)
        db.session.flush()
        raise
    if purpose == BIND_CARD:
        body = _(
            "RoamRenew: %(code)s is the code to add this number to a RoamRenew account. "
            "It expires in 5 minutes. If you did not ask for it, ignore this message.",
            code=code,
        )
    else:
        body = _("RoamRenew code: %(code)s. It expires in 5 minutes. Never share it.", code=code)
    message = sms.queue(phone, body, "login_code" if purpose == SIGN_IN else "card_code")
    assert message is not None  # only a dedupe_key makes queue() add nothing
    db.session.flush()
    return message.id


def _check_limits(row: LoginCode) -> None:
    # The cool-down and the per-number limit count this address's requests only: someone else
    # asking for this number's codes (from elsewhere) never makes its owner wait or locks them out.
    wait = _wait(_latest(row.phone, row.purpose, row.account_id, before_id=row.id, asked_from=row.ip))
    if wait:
        raise CodeRefused(_("A code was just sent. You can ask for another in %(seconds)s s.", seconds=wait))
    most, window = limit("SIGNIN_PHONE_LIMIT")
    same_number = (LoginCode.phone == row.phone, LoginCode.purpose == row.purpose, _by(row.ip))
    if _count_since(row.created_at - window, *same_number) > most:
        raise TooManyCodes(_("Too many codes for this number. Try again in an hour."))
    most, window = limit("SIGNIN_IP_LIMIT")
    if row.ip and _count_since(row.created_at - window, LoginCode.ip == row.ip) > most:
        raise TooManyCodes(_("Too many codes were asked for from this connection. Try again later."))


def clean_code(typed: str | None) -> str | None:
    """The 6 ASCII digits typed (full-width digits and spaces are fine), or None."""
    code = "".join(unicodedata.normalize("NFKC", typed or "").split())
    return code if len(code) == 6 and code.isascii() and code.isdigit() else None


def check_code(
    phone: str, typed: str, purpose: str = SIGN_IN, account_id: int | None = None, ip: str | None = None
) -> None:
    """Accept the code for `phone` once, or raise CodeRefused; the caller commits either way.

    The code checked is the latest one asked from `ip` (the address typing it), else the number's
    latest: a stranger asking for this number's code afterwards does not void the owner's.
    """
    code = clean_code(typed)
    if code is None:
        raise CodeRefused(_("The code has 6 digits."))
    latest = (ip and _latest(phone, purpose, account_id, asked_from=ip)) or _latest(phone, purpose, account_id)
    if latest is None or latest.used_at is not None:
        raise CodeRefused(_("Ask for a code first."))
    if latest.expires_at < utcnow():
        raise CodeRefused(_("This code has expired. Ask for a new one."))
    # One conditional UPDATE counts the try before the comparison, on every database: parallel
    # guesses each need their own try, and none is left after MAX_TRIES.
    tries = db.session.execute(
        update(LoginCode)
        .where(LoginCode.id == latest.id, LoginCode.attempts < MAX_TRIES, LoginCode.used_at.is_(None))
        .values(attempts=LoginCode.attempts + 1)
        .returning(LoginCode.attempts),
        execution_options={"synchronize_session": False},
    ).scalar_one_or_none()
    if tries is None:
        raise CodeRefused(_("Too many wrong tries. Ask for a new code."))
    if not hmac.compare_digest(latest.code_hash, _hash(phone, code)):
        left = MAX_TRIES - tries
        if left == 0:
            raise CodeRefused(_("That code is not right, and that was the last try. Ask for a new code."))
        raise CodeRefused(
            ngettext("That code is not right. %(num)s try left.", "That code is not right. %(num)s tries left.", left)
        )
    used = db.session.execute(
        update(LoginCode)
        .where(LoginCode.id == latest.id, LoginCode.used_at.is_(None))
        .values(used_at=utcnow())
        .returning(LoginCode.id),
        execution_options={"synchronize_session": False},
    ).scalar_one_or_none()
    if used is None:  # a parallel request with the same code was first
        raise CodeRefused(_("Ask for a code first."))
