"""What a payment notification costs the database: a new payment is one claim and two INSERTs."""

from conftest import load_order, make_order
from test_notifications import NOTIFY, notification, outcomes, paid_transitions

from extensions import db


def test_a_new_payment_is_one_claim_and_two_inserts_and_a_repeat_three_statements(app_with):
    app = app_with(QUERY_COUNT_HEADER=True)
    client = app.test_client()
    number = make_order(app)
    client.get("/")  # the sandbox's first-request look at its own queue is not the notification's
    with app.app_context():
        wake_up = 1 if db.engine.dialect.name == "postgresql" else 0  # pg_notify in the same commit
    body = notification(app, number)
    new = client.post(NOTIFY, data=body)
    repeat = client.post(NOTIFY, data=body)
    assert new.text == repeat.text == "success"
    # The claim that marks it paid, its transition, the notification (and the worker's wake-up).
    assert int(new.headers["X-Query-Count"]) == 3 + wake_up
    # The claim that finds nothing, three columns to say why, the notification.
    assert int(repeat.headers["X-Query-Count"]) == 3
    order = load_order(app, number)
    assert order.state == "paid" and order.trade_no == "2026112522001400000001" and order.paid_at is not None
    assert order.pending_key is None and order.payment_method == "alipay"
    assert paid_transitions(app, number) == 1 and outcomes(app) == ["paid", "duplicate"]
