"""The asynchronous payment notification: verified, applied exactly once, every one kept."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import load_order, make_order, run_jobs
from sqlalchemy import func, select

from extensions import db
from gateways import alipay_gateway
from models import CardPack, Order, OrderTransition, PaymentNotification, Refund, SmsMessage
from rules.ordering import orders
from rules.payments import payment_events
from sandbox import alipay_signer

NOTIFY = "/payments/alipay/notify"


def notification(app, number, **changes):
    """A notification as the gateway signs it: TRADE_SUCCESS for the order's whole amount."""
    order = load_order(app, number)
    with app.app_context():
        params = {
            "notify_time": "2026-11-25 10:00:00",
            "notify_type": "trade_status_sync",
            "notify_id": "n-1",
            "app_id": alipay_gateway.app_id(),
            "seller_id": alipay_gateway.seller_id(),
            "charset": "utf-8",
            "version": "1.0",
            "trade_no": "2026112522001400000001",
            "out_trade_no": number,
            "trade_status": "TRADE_SUCCESS",
            "total_amount": alipay_gateway.cents_to_amount(order.total_cents),
            "receipt_amount": alipay_gateway.cents_to_amount(order.total_cents),
            "subject": "RoamRenew",
            "gmt_payment": "2026-11-25 09:59:58",
            **changes,
        }
        return alipay_signer.sign_as_alipay(params)


def paid_transitions(app, number):
    with app.app_context():
        return db.session.scalar(
            select(func.count(OrderTransition.id))
            .join(Order)
            .where(Order.number == number, OrderTransition.to_state == "paid")
        )


def sms_count(app, purpose="order_paid"):
    with app.app_context():
        return db.session.scalar(select(func.count(SmsMessage.id)).where(SmsMessage.purpose == purpose))


def outcomes(app):
    with app.app_context():
        return [n.outcome for n in db.session.scalars(select(PaymentNotification).order_by(PaymentNotification.id))]


def test_a_signed_notification_marks_the_order_paid_then_the_worker_texts_once_and_adds_the_data(app, client):
    number = make_order(app)
    response = client.post(NOTIFY, data=notification(app, number))
    assert response.status_code == 200 and response.text == "success"
    assert load_order(app, number).state == "paid"  # answered once recorded: no carrier call in the request
    assert sms_count(app) == 0  # the notification writes the payment only: the SMS is the worker's
    assert run_jobs(app)["fulfilled"] == 1
    order = load_order(app, number)
    assert order.state == "fulfilled" and order.trade_no == "2026112522001400000001"
    assert [t.to_state for t in order.transitions] == ["pending_payment", "paid", "fulfilled"]
    assert [t.cause for t in order.transitions][1:] == ["notification", "job"]
    assert sms_count(app) == 1 and outcomes(app) == ["paid"]
    with app.app_context():
        assert db.session.scalar(select(func.count(CardPack.id))) == 1


@pytest.mark.parametrize("locale, words", [("zh_Hant", "訂單"), ("zh_Hans", "订单"), ("en", "order")])
def test_the_confirmation_sms_goes_to_the_card_in_the_travellers_language(app, client, locale, words):
    number = make_order(app, locale=locale)
    client.post(NOTIFY, data=notification(app, number))
    run_jobs(app)
    with app.app_context():
        message = db.session.scalars(select(SmsMessage).where(SmsMessage.purpose == "order_paid")).one()
    assert message.to_phone == "+85261234567" and number in message.body and words in message.body


def test_the_same_notification_again_changes_nothing_and_still_answers_success(app, client):
    number = make_order(app)
    params = notification(app, number)
    answers = [client.post(NOTIFY, data=params).text for _ in range(5)]
    assert answers == ["success"] * 5
    run_jobs(app)
    assert paid_transitions(app, number) == 1 and sms_count(app) == 1
    assert outcomes(app) == ["paid"] + ["duplicate"] * 4


@pytest.mark.parametrize(
    "tamper, outcome",
    [
        ({"total_amount": "0.01"}, "bad_signature"),  # changed after signing
        ({"sign": "AAAA"}, "bad_signature"),
        ({"sign": "not base64 at all!"}, "bad_signature"),
    ],
)
def test_a_forged_notification_is_refused_and_kept(app, client, tamper, outcome):
    number = make_order(app)
    response = client.post(NOTIFY, data={**notification(app, number), **tamper})
    assert response.status_code == 400 and response.text == "fail"
    assert load_order(app, number).state == "pending_payment"
    assert outcomes(app) == [outcome] and sms_count(app) == 0


@pytest.mark.parametrize(
    "changes, outcome",
    [
        ({"total_amount": "1.00", "receipt_amount": "1.00"}, "amount_mismatch"),
        ({"total_amount": "58"}, "bad_amount"),
        ({"app_id": "2021999999999999"}, "wrong_app_id"),
        ({"seller_id": "2088999999999999"}, "wrong_seller_id"),
        ({"out_trade_no": "RR000000-NOSUCH"}, "unknown_order"),
    ],
)
def test_a_correctly_signed_notification_that_does_not_match_the_order_is_refused(app, client, changes, outcome):
    number = make_order(app)
    response = client.post(NOTIFY, data=notification(app, number, **changes))
    assert response.text == "fail" and outcomes(app) == [outcome]
    assert load_order(app, number).state == "pending_payment"


@pytest.mark.parametrize("status", ["WAIT_BUYER_PAY", "TRADE_CLOSED"])
def test_a_notification_that_is_not_a_payment_changes_nothing(app, client, status):
    number = make_order(app)
    assert client.post(NOTIFY, data=notification(app, number, trade_status=status)).text == "success"
    assert load_order(app, number).state == "pending_payment"


def test_missing_fields_and_a_huge_body_are_refused(app, client):
    number = make_order(app)
    params = notification(app, number)
    del params["trade_no"]
    assert client.post(NOTIFY, data=params).text == "fail"
    huge = client.post(NOTIFY, data={**notification(app, number), "padding": "x" * 100_000})
    assert huge.status_code in (400, 413) and load_order(app, number).state == "pending_payment"
    assert outcomes(app) == ["missing_fields"]


def test_a_late_notification_after_a_refund_changes_nothing(app, client):
    number = make_order(app)
    params = notification(app, number)
    client.post(NOTIFY, data=params)
    with app.app_context():
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        orders.transition(order, "refunded", "staff", {"amount": order.total_cents})
        db.session.commit()
    assert client.post(NOTIFY, data=params).text == "success"
    assert load_order(app, number).state == "refunded" and paid_transitions(app, number) == 1


def refunds(app):
    with app.app_context():
        return [(r.reason, r.trade_no, r.amount_cents, r.status) for r in db.session.scalars(select(Refund))]


def test_a_notification_for_an_expired_order_is_not_applied_and_its_payment_is_refunded(app, client):
    app.config["PUBLIC_BASE_URL"] = "http://127.0.0.1:9"  # no gateway here: the refund waits for the job
    number = make_order(app)
    with app.app_context():
        orders.expire(db.session.scalars(select(Order).where(Order.number == number)).one(), "job")
        db.session.commit()
    for _ in range(2):
        assert client.post(NOTIFY, data=notification(app, number)).text == "success"
    assert load_order(app, number).state == "expired" and outcomes(app) == ["refund:paid_after_expiry", "duplicate"]
    assert refunds(app) == [("paid_after_expiry", "2026112522001400000001", 5800, "requested")]


def test_a_second_trade_for_a_paid_order_is_refunded_by_its_own_trade_number_not_credited(app, client):
    app.config["PUBLIC_BASE_URL"] = "http://127.0.0.1:9"
    number = make_order(app)
    client.post(NOTIFY, data=notification(app, number))
    client.post(NOTIFY, data=notification(app, number, trade_no="2026112522001400000002"))
    assert paid_transitions(app, number) == 1 and load_order(app, number).trade_no.endswith("0001")
    assert outcomes(app) == ["paid", "refund:second_payment"]
    assert refunds(app) == [("second_payment", "2026112522001400000002", 5800, "requested")]


@pytest.mark.postgresql_only
def test_twenty_parallel_copies_of_a_notification_credit_once(app):
    number = make_order(app)
    params = notification(app, number)
    start = threading.Barrier(20)

    def deliver(_):
        client = app.test_client()
        start.wait(timeout=10)
        return client.post(NOTIFY, data=params).text

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(deliver, range(20)))
    assert answers == ["success"] * 20
    assert sorted(outcomes(app)) == ["duplicate"] * 19 + ["paid"]
    run_jobs(app)
    assert paid_transitions(app, number) == 1 and sms_count(app) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(CardPack.id))) == 1


def test_adding_data_for_an_order_that_is_gone_does_nothing(app):
    number = make_order(app)
    with app.app_context():
        payment_events.fulfil_now("RR-NO-SUCH-ORDER", "notification")
        assert db.session.scalar(select(func.count(CardPack.id))) == 0
    assert load_order(app, number).state == "pending_payment" and sms_count(app) == 0
