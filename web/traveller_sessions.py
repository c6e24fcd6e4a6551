"""A traveller's session (Flask-Login): signing in, its lifetimes, signing out everywhere.

A session lasts SESSION_IDLE_DAYS without use and SESSION_MAX_DAYS at most: the times are kept in
the (signed) session and checked each time the account is loaded.
"""

import time

from flask import current_app, session
from flask_login import login_user, logout_user

from models import Account
from rules.travellers import accounts

SIGNED_IN_AT, SEEN_AT = "signed_in_at", "seen_at"
TOUCH_EVERY = 600  # seconds: "seen" is rewritten at most this often, not on every request


def now() -> int:
    """Seconds since the epoch (a function, so tests can move the clock)."""
    return int(time.time())


def sign_in(phone: str, locale: str) -> Account:
    """Find or register the account for `phone` and start a fresh session; the caller commits."""
    account = accounts.find_or_register(phone, locale)
    session.clear()  # rotate: nothing from before sign-in (including the CSRF token) carries over
    login_user(account)
    session[SIGNED_IN_AT] = session[SEEN_AT] = now()
    return account


def session_state() -> str:
    """This session's state, read without changing it: alive, "touch" (alive, and its "seen" time is due
    to be rewritten) or over. A session without its times (from before they were kept) is over."""
    signed_in, seen, moment = session.get(SIGNED_IN_AT), session.get(SEEN_AT), now()
    if not isinstance(signed_in, int) or not isinstance(seen, int):
        return "over"
    day = 86400
    if moment - signed_in > current_app.config["SESSION_MAX_DAYS"] * day:
        return "over"
    if moment - seen > current_app.config["SESSION_IDLE_DAYS"] * day:
        return "over"
    return "touch" if moment - seen > TOUCH_EVERY else "alive"


def session_alive() -> bool:
    """True while this session is within its limits (and notes that it is in use)."""
    state = session_state()
    if state == "touch":
        session[SEEN_AT] = now()
    return state != "over"


def sign_out(account: Account) -> None:
    accounts.end_sessions(account)  # any copied cookie of this session stops working
    logout_user()
    session.clear()


def sign_out_others(account: Account) -> None:
    """End every other session of `account` and keep this one; the caller commits."""
    accounts.end_sessions(account)
    login_user(account)  # this session's id carries the new token
