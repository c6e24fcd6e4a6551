"""The least a payment notification can cost in this app: the yardstick for bench/notify.py.

The real app (its request hooks, session, security headers, compression) with one extra route that
does only what no handler can skip: parse the form, check Alipay's RSA2 signature, and keep the
notification with one INSERT and a commit, below the ORM. Served by bench/notify.py as the app is
(`notify_floor:create_app()`); bench/profile_notify.py adds the route to its own app in-process.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the app
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench/

from flask import Flask, request
from notify import FLOOR

import app as the_app
from extensions import csrf, db
from gateways import alipay_gateway

# CURRENT_TIMESTAMP, not now(): the same INSERT on PostgreSQL and SQLite; only the placeholder differs.
INSERT = (
    "INSERT INTO payment_notification (provider, out_trade_no, body, outcome, received_at, repeats) "
    "VALUES ('alipay', {0}, {0}, 'floor', CURRENT_TIMESTAMP, 0)"
)


@csrf.exempt
def floor():
    params = request.form.to_dict()
    if not alipay_gateway.verify_signature(params):
        return "fail", 400, {"Content-Type": "text/plain"}
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        placeholder = "?" if db.engine.dialect.paramstyle == "qmark" else "%s"
        cursor.execute(INSERT.format(placeholder), (params["out_trade_no"], request.get_data(as_text=True)))
        connection.commit()
    finally:
        connection.close()
    return "success", 200, {"Content-Type": "text/plain"}


def add_route(app: Flask) -> Flask:
    app.add_url_rule(FLOOR, view_func=floor, methods=["POST"])
    return app


def create_app() -> Flask:
    """The app with the floor's route: what bench/notify.py serves under gunicorn."""
    return add_route(the_app.create_app())
