"""Accounts: registered on first sign-in; signing out ends every copy of the session."""

from flask import session
from flask_login import login_user, logout_user
from sqlalchemy import select

from extensions import db
from models import Account, new_token, utcnow


def sign_in(phone: str, locale: str) -> Account:
    """Find or register the account for `phone` and start a fresh session; the caller commits."""
    account = db.session.scalars(select(Account).where(Account.phone == phone)).first()
    if account is None:
        account = Account(phone=phone, locale=locale)
        db.session.add(account)
        db.session.flush()
    account.last_login_at = utcnow()
    session.clear()  # rotate: nothing from before sign-in (including the CSRF token) carries over
    login_user(account)
    return account


def sign_out(account: Account) -> None:
    account.session_token = new_token()  # any copied cookie of this session stops working
    logout_user()
    session.clear()
