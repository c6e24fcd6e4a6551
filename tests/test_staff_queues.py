"""What waits for staff: the queries behind the staff home, oldest first, with their age."""

from datetime import timedelta

from conftest import make_order
from staff_support import make_staff, paid_order_number, staff_sign_in

from extensions import db
from models import Order, PaymentNotification, Refund, utcnow
from rules.staff import staff_queues


def shift(app, number, **moments):
    with app.app_context():
        order = db.session.scalars(db.select(Order).where(Order.number == number)).one()
        for name, value in moments.items():
            setattr(order, name, value)
        db.session.commit()
        return order.id


def test_orders_waiting_for_staff_oldest_first_and_nothing_else(app):
    newer = paid_order_number(app, state="needs_attention", msisdn="+85261230001", phone="+85291230001")
    older = paid_order_number(app, state="to_add_by_hand", msisdn="+85261230002", phone="+85291230002")
    paid_order_number(app, state="fulfilled", msisdn="+85261230003", phone="+85291230003")
    make_order(app, msisdn="+85261230004", phone="+85291230004")
    shift(app, older, paid_at=utcnow() - timedelta(hours=5))
    with app.app_context():
        items = staff_queues.orders_waiting()
        assert [item.order.number for item in items] == [older, newer]
        assert timedelta(hours=4, minutes=59) < items[0].age() < timedelta(hours=5, minutes=1)


def test_late_payments_show_open_ones_and_recent_done_ones_and_unconfirmed_refunds_the_rest(app):
    number = paid_order_number(app)
    with app.app_context():
        order_id = db.session.scalars(db.select(Order.id).where(Order.number == number)).one()
        now = utcnow()
        rows = [
            Refund(
                order_id=order_id,
                out_request_no="late-open",
                amount_cents=100,
                reason="paid_after_cancel",
                status="requested",
                created_at=now - timedelta(hours=1),
            ),
            Refund(
                order_id=order_id,
                out_request_no="late-old-open",
                amount_cents=100,
                reason="second_payment",
                status="failed",
                created_at=now - timedelta(days=40),
            ),
            Refund(
                order_id=order_id,
                out_request_no="late-done-recent",
                amount_cents=100,
                reason="paid_after_expiry",
                status="done",
                created_at=now - timedelta(days=2),
            ),
            Refund(
                order_id=order_id,
                out_request_no="late-done-old",
                amount_cents=100,
                reason="paid_after_expiry",
                status="done",
                created_at=now - timedelta(days=30),
            ),
            Refund(
                order_id=order_id,
                out_request_no="staff-open",
                amount_cents=50,
                reason="traveller asked",
                status="requested",
                created_at=now - timedelta(hours=3),
            ),
            Refund(
                order_id=order_id,
                out_request_no="staff-done",
                amount_cents=50,
                reason="traveller asked",
                status="done",
                created_at=now - timedelta(hours=4),
            ),
        ]
        db.session.add_all(rows)
        db.session.commit()
        late = [item.row.out_request_no for item in staff_queues.late_payments()]
        assert late == ["late-old-open", "late-done-recent", "late-open"]
        assert [item.row.out_request_no for item in staff_queues.refunds_unconfirmed()] == ["staff-open"]


def test_refused_notifications_of_the_last_two_weeks_with_their_order_when_known(app):
    number = make_order(app)
    with app.app_context():
        now = utcnow()
        db.session.add_all(
            [
                PaymentNotification(
                    out_trade_no=number, body="a", outcome="amount_mismatch", received_at=now - timedelta(hours=2)
                ),
                PaymentNotification(out_trade_no="RR000000-XXXXXX", body="b", outcome="unknown_order", received_at=now),
                PaymentNotification(out_trade_no=number, body="c", outcome="paid", received_at=now),
                PaymentNotification(
                    out_trade_no=number, body="d", outcome="amount_mismatch", received_at=now - timedelta(days=20)
                ),
            ]
        )
        db.session.commit()
        items = staff_queues.refused_notifications()
        assert [item.row.body for item in items] == ["a", "b"]
        assert items[0].order.number == number and items[1].order is None


def test_the_staff_home_lists_each_queue_with_the_age(app, client):
    number = paid_order_number(app, state="needs_attention")
    shift(app, number, paid_at=utcnow() - timedelta(hours=3))
    make_staff(app, "alice", "agent")
    staff_sign_in(client, "alice")
    page = client.get("/staff")
    assert number in page.text and "waiting 3 hours" in page.text
    for title in (
        "Paid, data not added yet",
        "Payments an order could not take",
        "Refunds not confirmed by the gateway",
        "Payment notifications refused",
    ):
        assert title in page.text
