"""Opt-in (QUERY_COUNT_HEADER, for benchmarks): each response says how many SQL queries it took.

A header rather than a log line, so a benchmark client can read it from any gunicorn worker.
"""

from flask import Flask, Response, g, has_request_context
from sqlalchemy import event

from extensions import db


def _count(*_args) -> None:
    if has_request_context():
        g.query_count = g.get("query_count", 0) + 1


def count_raw_query() -> None:
    """Count a query run on a raw DBAPI cursor, which SQLAlchemy's events do not see."""
    _count()


def _add_header(response: Response) -> Response:
    response.headers["X-Query-Count"] = str(g.get("query_count", 0))
    return response


def init_app(app: Flask) -> None:
    if not app.config.get("QUERY_COUNT_HEADER"):
        return
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", _count)
    app.after_request(_add_header)
