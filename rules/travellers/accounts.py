"""Accounts: registered on a number's first sign-in; a new session token ends every copy of a session.

The session itself (its cookie, its lifetimes) is web plumbing: web.traveller_sessions.
"""

from sqlalchemy import select

from extensions import db
from models import Account, new_token, utcnow


def find_or_register(phone: str, locale: str) -> Account:
    """The account for `phone`, registered now if it is new, its sign-in time noted; the caller commits."""
    account = db.session.scalars(select(Account).where(Account.phone == phone)).first()
    if account is None:
        account = Account(phone=phone, locale=locale)
        db.session.add(account)
        db.session.flush()
    account.last_login_at = utcnow()
    return account


def end_sessions(account: Account) -> None:
    """Every session of `account` stops working (a copied cookie too); the caller commits."""
    account.session_token = new_token()
