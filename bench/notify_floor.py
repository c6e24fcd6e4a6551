"""The least a payment notification can cost in this app: the yardstick for bench/notify.py.

The real app (its request hooks, session, security headers, compression) with one extra route that
does only what no handler can skip: parse the form, check Alipay's RSA2 signature, and keep the
notification with one INSERT and a commit, below the ORM. Served by bench/notify.py as the app is.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the app
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench/

from flask import request
from notify import FLOOR

from app import create_app
from extensions import csrf, db
from gateways import alipay_gateway

INSERT = (
    "INSERT INTO payment_notification (provider, out_trade_no, body, outcome, received_at, repeats) "
    "VALUES ('alipay', %s, %s, 'floor', now(), 0)"
)

app = create_app()


@csrf.exempt
def floor():
    params = request.form.to_dict()
    if not alipay_gateway.verify_signature(params):
        return "fail", 400, {"Content-Type": "text/plain"}
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(INSERT, (params["out_trade_no"], request.get_data(as_text=True)))
        connection.commit()
    finally:
        connection.close()
    return "success", 200, {"Content-Type": "text/plain"}


app.add_url_rule(FLOOR, view_func=floor, methods=["POST"])
