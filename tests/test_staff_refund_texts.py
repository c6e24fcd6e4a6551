"""Every refund staff make is texted to the traveller, in the order's language, like the automatic
refund of a late payment: an Alipay refund once the gateway confirms it, a counter refund at once.
The text is a row in the outbox, sent by the job worker after the request, never during it."""

from types import SimpleNamespace

from conftest import run_jobs
from sqlalchemy import select, update
from test_counter_payments import ICCID, counter_location, take_payment  # noqa: F401  (autouse: the counter's location)
from test_staff_refunds import paid_number, staff_refund  # noqa: F401  (paid_number is a fixture)

from extensions import db
from models import Order, Refund, SmsMessage, utcnow

PAYER = "+85291234567"  # the account that paid (conftest.make_order)
SUPERVISOR = SimpleNamespace(id=4, username="mei", role="supervisor")


def refund_texts(app, phone):
    with app.app_context():
        rows = db.session.scalars(
            select(SmsMessage)
            .where(SmsMessage.to_phone == phone, SmsMessage.purpose == "refund")
            .order_by(SmsMessage.id)
        ).all()
        return [(row.body, row.status) for row in rows]


def set_locale(app, number, locale):
    with app.app_context():
        db.session.execute(update(Order).where(Order.number == number).values(locale=locale))
        db.session.commit()


def test_each_staff_refund_through_alipay_texts_the_payer_in_the_orders_language(app, paid_number):  # noqa: F811
    set_locale(app, paid_number, "zh_Hans")
    staff_refund(app, paid_number, "20.50", reason="Goodwill: note for colleagues only")
    ((body, status),) = refund_texts(app, PAYER)
    assert status == "queued"  # queued by the request, sent by the worker
    assert paid_number in body and "HK$20.50" in body and "支付宝" in body
    assert "colleagues" not in body  # staff's reason is theirs
    staff_refund(app, paid_number, "37.50")
    assert [body.count("HK$37.50") for body, _ in refund_texts(app, PAYER)] == [0, 1]
    run_jobs(app)
    assert [status for _, status in refund_texts(app, PAYER)] == ["sent", "sent"]


def test_a_staff_refund_is_texted_only_once_the_gateway_has_paid_it_back(app, paid_number, live_server):  # noqa: F811
    app.config["PUBLIC_BASE_URL"] = "http://127.0.0.1:9"  # the gateway cannot be reached for a while
    staff_refund(app, paid_number, "58")
    assert refund_texts(app, PAYER) == []
    app.config["PUBLIC_BASE_URL"] = live_server
    with app.app_context():
        db.session.execute(update(Refund).values(next_attempt_at=utcnow()))
        db.session.commit()
    run_jobs(app)
    run_jobs(app)  # a second round never texts it again
    ((body, status),) = refund_texts(app, PAYER)
    assert "HK$58.00" in body and status == "sent"


def test_a_counter_refund_texts_the_card_at_once_in_the_orders_language(app, plans):
    from rules.staff import staff_refunds

    number, _, _ = take_payment(app, iccid_text=ICCID, method="cash", locale="zh_Hant")
    with app.test_request_context():
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        staff_refunds.refund(order, "8.00", staff_refunds.new_request_id(), "Wrong plan", SUPERVISOR)
        db.session.commit()
    ((body, status),) = refund_texts(app, "+85261234567")  # no account: the card's own number
    assert number in body and "HK$8.00" in body and "櫃檯" in body and status == "queued"
