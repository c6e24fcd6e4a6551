"""An order's writers never touch its account row: nothing in the database adds a lock behind their backs
(the triggers that moved account.pages_version did, and deadlocked a checkout against a notification)."""

from datetime import timedelta

import pytest
from conftest import make_order
from flask_babel import force_locale
from sqlalchemy import inspect, select, text, update

from extensions import db
from models import Order, utcnow
from rules.ordering import orders


def test_no_trigger_writes_to_another_table(app):
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        else:
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        assert db.session.scalars(text(query)).all() == []
        assert "pages_version" not in {column["name"] for column in inspect(db.engine).get_columns("account")}


def test_a_re_confirm_after_the_order_was_paid_elsewhere_leaves_the_paid_order_as_it_is(app):
    """The checkout saw the unpaid order; a notification in another process paid it before the checkout
    wrote the new start: the write names the state it expects, so the paid order keeps its dates."""
    number = make_order(app)
    with app.test_request_context():
        seen = db.session.scalars(select(Order).where(Order.number == number)).one()
        before = (seen.start_mode, seen.validity_start, seen.validity_end)
        with db.engine.begin() as other:  # the notification, on its own connection
            other.execute(update(Order).where(Order.number == number).values(state="paid", pending_key=None))
        with force_locale("en"), pytest.raises(orders.OrderRefused, match="paid or changed"):
            orders._restart(seen, orders.Choices("now", None), utcnow() + timedelta(seconds=1))
        db.session.commit()
        db.session.expire_all()
        again = db.session.scalars(select(Order).where(Order.number == number)).one()
        assert again.state == "paid"
        assert (again.start_mode, again.validity_start, again.validity_end) == before


def test_a_re_confirm_with_another_method_after_the_order_was_paid_elsewhere_keeps_the_method_paid_with(app):
    """The same race for the payment method: the payment (its trade and method) was written by another
    process after the checkout read the order; the checkout's write names the method it saw, and the
    order keeps the method that was really paid."""
    number = make_order(app)
    with app.test_request_context():
        seen = db.session.scalars(select(Order).where(Order.number == number)).one()
        with db.engine.begin() as other:  # a payment with another method, still pending_payment for an instant
            other.execute(update(Order).where(Order.number == number).values(trade_no="W-1", payment_method="wechat"))
        with force_locale("en"), pytest.raises(orders.OrderRefused, match="paid or changed"):
            orders._restart(seen, orders.Choices(seen.start_mode, "stripe"), utcnow())
        db.session.commit()
        db.session.expire_all()
        again = db.session.scalars(select(Order).where(Order.number == number)).one()
        assert (again.trade_no, again.payment_method) == ("W-1", "wechat")
