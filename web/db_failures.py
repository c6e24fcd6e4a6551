"""A database that fails is answered in words: 503 with Retry-After, never a bare 500.

- A deadlock or a serialization failure (PostgreSQL aborted one of two transactions): the view is run
  once more from the start, with a fresh transaction; if it fails again, 503.
- The database unreachable, restarting, a lock or statement timeout (DB_LOCK_TIMEOUT_MS,
  DB_STATEMENT_TIMEOUT_MS): 503 at once.
- Closing the session after the response (Flask-SQLAlchemy's teardown rolls back) never turns a
  finished request into a 500: a connection that died there is logged and dropped from the pool.
"""

import functools
import logging

from flask import Flask
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from extensions import db

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5
# When even the worded page cannot be rendered (it needed the database): the same words, in all three.
PLAIN_PAGE = (
    '<!doctype html><html lang="en"><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>RoamRenew</title>'
    "<h1>Try again in a few seconds</h1><p>Nothing was lost and nothing was charged twice.</p>"
    '<p lang="zh-Hans">请过几秒再试。没有任何资料丢失，也没有重复收费。</p>'
    '<p lang="zh-Hant">請過幾秒再試。沒有任何資料遺失，也沒有重複收費。</p></html>'
)
RETRY_ONCE = {"40P01", "40001"}  # deadlock detected, serialization failure
# lock_timeout, statement_timeout, admin shutdown, crash shutdown, cannot connect now, connection errors
UNAVAILABLE = {"55P03", "57014", "57P01", "57P02", "57P03", "08000", "08001", "08003", "08004", "08006"}


def sqlstate(error: BaseException) -> str | None:
    return getattr(getattr(error, "orig", None), "sqlstate", None)


def is_unavailable(error: BaseException) -> bool:
    """True when the database, not the request, is at fault: answer 503 and let the client retry."""
    if isinstance(error, PoolTimeout):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated or sqlstate(error) in UNAVAILABLE | RETRY_ONCE:
        return True
    text = str(error.orig)
    # SQLite: the file cannot be opened; psycopg before a connection exists has no SQLSTATE.
    return "unable to open database file" in text or "connection failed" in text or "server closed" in text


def retried_once(view):
    """Run the view again, once, when the database chose it as the victim of a deadlock."""

    @functools.wraps(view)
    def run(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except DBAPIError as error:
            if sqlstate(error) not in RETRY_ONCE:
                raise
            log.warning("retrying %s once after %s", view.__name__, sqlstate(error))
            db.session.rollback()
            return view(*args, **kwargs)

    return run


def _quiet_teardown(teardown):
    @functools.wraps(teardown)
    def run(error=None):
        try:
            return teardown(error)
        except SQLAlchemyError:
            log.warning("the database connection failed while the request was closed; it is dropped")

    return run


def init_app(app: Flask) -> None:
    """Call after every blueprint is registered: each view is wrapped."""
    for endpoint, view in app.view_functions.items():
        app.view_functions[endpoint] = retried_once(view)
    funcs = app.teardown_appcontext_funcs
    funcs[:] = [_quiet_teardown(f) if getattr(f, "__self__", None) is db else f for f in funcs]
