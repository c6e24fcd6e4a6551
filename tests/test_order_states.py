"""Order states as one type: its groups, the database's CHECK, the two states staff act on
(needs_attention, to_add_by_hand), the staff retry command, and when an order can still be paid."""

import json
from datetime import timedelta

import pytest
from conftest import csrf_token, make_order
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

import jobs
from extensions import db
from models import CardPack, Order, utcnow
from rules.ordering import fulfilment, order_states, orders, receipts
from rules.ordering.order_states import OrderState
from rules.payments import payment_events

S = OrderState


def paid_order(app, **make) -> str:
    """An order made by the real checkout rule and marked paid as a gateway notification does."""
    number = make_order(app, **make)
    with app.test_request_context():
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        assert payment_events.apply_paid(order, "T" + number[-6:], "notification", {}) == "paid"
        db.session.commit()
    return number


def state_of(app, number: str) -> Order:
    with app.app_context():
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        _ = order.transitions
        db.session.expunge_all()
        return order


def run_fulfilment_job(app) -> int:
    """One round of the fulfilment job, with every retry due now (as if its pause had passed)."""
    with app.app_context():
        db.session.execute(update(Order).values(next_check_at=None))
        db.session.commit()
        return jobs.retry_fulfilment()


# The type and its groups


def test_every_state_has_a_name_for_people_and_only_known_states_move():
    assert set(order_states.STATE_NAMES) == set(S)
    for source, targets in order_states.ALLOWED.items():
        assert source in S and targets <= set(S)
    assert not set(order_states.ALLOWED) & (order_states.FINAL - {S.FULFILLED})  # final ones stay put
    assert order_states.WAITING_FOR_STAFF <= order_states.IN_PROGRESS <= order_states.RECEIPT
    assert {s for s, targets in order_states.ALLOWED.items() if S.REFUNDED in targets} == order_states.REFUNDABLE


def test_a_state_loaded_from_the_database_is_found_in_the_groups_as_a_plain_string():
    assert "needs_attention" in order_states.WAITING_FOR_STAFF and S.PAID == "paid"
    assert order_states.STATE_NAMES["fulfilled"] is order_states.STATE_NAMES[S.FULFILLED]


def test_the_database_refuses_a_state_that_is_not_in_the_enum(app):
    number = make_order(app)
    with app.app_context():
        with pytest.raises(IntegrityError):
            db.session.execute(text("UPDATE orders SET state = 'lost' WHERE number = :n"), {"n": number})
            db.session.flush()
        db.session.rollback()
        for state in S:  # and accepts every state it knows
            db.session.execute(text("UPDATE orders SET state = :s WHERE number = :n"), {"s": state.value, "n": number})
        db.session.commit()


# needs_attention: the carrier failed too often


def test_after_five_failed_tries_the_job_stops_and_the_order_needs_attention(app):
    number = paid_order(app)
    app.config["CARRIER_DOWN"] = True
    for attempt in range(1, fulfilment.MAX_FULFIL_ATTEMPTS):
        assert run_fulfilment_job(app) == 1
        order = state_of(app, number)
        assert (order.state, order.fulfil_attempts) == ("paid", attempt)
    assert run_fulfilment_job(app) == 1
    order = state_of(app, number)
    assert (order.state, order.fulfil_attempts) == ("needs_attention", fulfilment.MAX_FULFIL_ATTEMPTS)
    last = order.transitions[-1]
    assert (last.from_state, last.to_state, last.cause) == ("paid", "needs_attention", "job")
    details = json.loads(last.details)
    assert details["reason"] == "carrier_failed" and details["attempts"] == 5
    assert "simulated carrier is down" in details["last_error"]
    app.config["CARRIER_DOWN"] = False
    assert run_fulfilment_job(app) == 0  # the job leaves it to staff, even with the carrier back
    assert state_of(app, number).state == "needs_attention"


def test_staff_retry_from_the_command_line_adds_the_data_of_an_order_that_needs_attention(app):
    number = paid_order(app)
    with app.app_context():
        db.session.execute(
            update(Order).where(Order.number == number).values(state="needs_attention", fulfil_attempts=5)
        )
        db.session.commit()
    runner = app.test_cli_runner()
    app.config["CARRIER_DOWN"] = True
    failed = runner.invoke(args=["orders", "retry-fulfilment", number])
    assert failed.exit_code != 0 and "could not be added" in failed.output
    assert state_of(app, number).state == "needs_attention"  # still with staff
    app.config["CARRIER_DOWN"] = False
    done = runner.invoke(args=["orders", "retry-fulfilment", number.lower()])
    assert done.exit_code == 0, done.output
    assert "data added" in done.output
    order = state_of(app, number)
    assert order.state == "fulfilled" and order.transitions[-1].cause == "staff"
    assert order.transitions[-1].from_state == "needs_attention"
    with app.app_context():
        assert db.session.scalar(select(CardPack.id).where(CardPack.order_id == order.id)) is not None


def test_staff_retry_also_adds_the_data_of_a_paid_order_at_once(app):
    number = paid_order(app)
    result = app.test_cli_runner().invoke(args=["orders", "retry-fulfilment", number])
    assert result.exit_code == 0, result.output
    assert state_of(app, number).state == "fulfilled"


@pytest.mark.parametrize("number", ["RR000000-XXXXXX", "not a number"])
def test_staff_retry_of_an_unknown_order_says_so(app, number):
    result = app.test_cli_runner().invoke(args=["orders", "retry-fulfilment", number])
    assert result.exit_code != 0 and "no order" in result.output


def test_staff_retry_refuses_an_unpaid_order_and_changes_nothing(app):
    number = make_order(app)
    result = app.test_cli_runner().invoke(args=["orders", "retry-fulfilment", number])
    assert result.exit_code != 0 and "pending_payment" in result.output
    order = state_of(app, number)
    assert (order.state, order.fulfil_attempts) == ("pending_payment", 0)


# to_add_by_hand: CARRIER=manual


def test_with_the_manual_carrier_a_paid_order_waits_for_staff_and_is_fulfilled_by_hand(app_with):
    app = app_with(CARRIER="manual")
    number = paid_order(app)
    with app.test_request_context():
        payment_events.fulfil_now(number, "notification")
    order = state_of(app, number)
    assert order.state == "to_add_by_hand"
    assert (
        order.transitions[-1].cause == "notification"
        and "manual" in json.loads(order.transitions[-1].details)["carrier"]
    )
    assert run_fulfilment_job(app) == 0  # nothing for the job to do
    with app.test_request_context():
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        fulfilment.added_by_hand(order, "staff", {"by": "agent 7"})
        db.session.commit()
        assert db.session.scalar(select(CardPack.order_id).where(CardPack.order_id == order.id)) == order.id
    assert state_of(app, number).state == "fulfilled"


def test_the_carrier_setting_accepts_only_known_carriers(app_with):
    from config import ConfigError

    with pytest.raises(ConfigError, match="CARRIER"):
        app_with(CARRIER="pigeon")


def test_orders_waiting_for_staff_are_listed_oldest_first(app):
    older = paid_order(app, msisdn="+85261230001")
    newer = paid_order(app, msisdn="+85261230002")
    paid_only = paid_order(app, msisdn="+85261230003")
    with app.app_context():
        db.session.execute(update(Order).where(Order.number == newer).values(state="to_add_by_hand"))
        db.session.execute(
            update(Order)
            .where(Order.number == older)
            .values(state="needs_attention", paid_at=utcnow() - timedelta(hours=1))
        )
        db.session.commit()
        waiting = [order.number for order in orders.waiting_for_staff()]
    assert waiting == [older, newer] and paid_only not in waiting


# What the traveller reads


@pytest.mark.parametrize(
    "state, locale, says",
    [
        ("needs_attention", "en", "Your payment is safe. We are adding the data; this is taking longer than usual."),
        ("needs_attention", "zh_Hans", "你的付款是安全的。我们正在充入流量"),
        ("needs_attention", "zh_Hant", "你的付款是安全的。我們正在加入數據"),
        ("to_add_by_hand", "en", "Our staff are adding the data to your card by hand"),
        ("to_add_by_hand", "zh_Hans", "工作人员正在为你的卡人工充入流量"),
        ("to_add_by_hand", "zh_Hant", "職員正在為你的電話卡人手加入數據"),
    ],
)
def test_the_order_page_says_in_words_what_happens_to_an_order_waiting_for_staff(
    app, client, sign_in, state, locale, says
):
    sign_in()
    number = paid_order(app, phone="+85291234567")
    with app.app_context():
        db.session.execute(update(Order).where(Order.number == number).values(state=state))
        db.session.commit()
    client.set_cookie("lang", locale)
    page = client.get(f"/orders/{number}", headers={"Accept-Language": locale.replace("_", "-")})
    assert page.status_code == 200 and says in page.text
    assert f"/orders/{number}/receipt" in page.text  # paid: it has a receipt
    assert "Pay with Alipay" not in page.text
    assert 'hx-trigger="load delay:30s"' in page.text  # staff take minutes, not seconds: poll slowly
    assert client.get(f"/orders/{number}/receipt").status_code == 200


def test_a_receipt_of_an_order_waiting_for_staff_checks_as_genuine(app):
    number = paid_order(app)
    with app.test_request_context():
        db.session.execute(update(Order).where(Order.number == number).values(state="needs_attention"))
        token = receipts.verification_token(number)
        assert receipts.genuine_order(number, token).number == number
        assert receipts.genuine_order(number, "0" * 24) is None


# Payable: one answer for the checkout, the pay link and the order page


def test_an_unpaid_order_past_its_time_is_not_payable_anywhere(app, client, sign_in):
    sign_in()
    number = make_order(app)
    assert "Pay with Alipay" in client.get(f"/orders/{number}").text
    with app.app_context():
        db.session.execute(update(Order).where(Order.number == number).values(pay_by=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        assert not orders.payable(order)
    page = client.get(f"/orders/{number}")
    assert "Pay with Alipay" not in page.text and "The time to pay this order is over" in page.text
    to_pay = client.get(f"/orders/{number}/pay")
    assert to_pay.status_code == 302 and to_pay.headers["Location"].endswith(f"/orders/{number}")


# The time to pay is a setting


def test_the_time_to_pay_setting_sets_pay_by_and_the_gateways_time_expire(app_with):
    from gateways import alipay_gateway

    app = app_with(PAY_WITHIN_MINUTES=40)
    number = make_order(app)
    with app.test_request_context():
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        assert order.pay_by - order.created_at == timedelta(minutes=40)
        url = alipay_gateway.payment_url(order, return_url="http://r", notify_url="http://n", quit_url="http://q")
    from urllib.parse import parse_qs, urlsplit

    biz = json.loads(parse_qs(urlsplit(url).query)["biz_content"][0])
    assert biz["time_expire"] == alipay_gateway.to_alipay_time(order.created_at + timedelta(minutes=40))


def test_the_time_to_pay_comes_from_the_environment_and_must_be_a_positive_number(monkeypatch, tmp_path):
    import config

    monkeypatch.setenv("PAY_WITHIN_MINUTES", "20")
    assert config.load(str(tmp_path))["PAY_WITHIN_MINUTES"] == 20
    for bad in ("0", "-5", "soon", ""):
        monkeypatch.setenv("PAY_WITHIN_MINUTES", bad)
        with pytest.raises(config.ConfigError, match="PAY_WITHIN_MINUTES"):
            config.load(str(tmp_path))


# Cancel: the rule's outcome, the view's words


def test_a_cancel_while_alipay_is_unreachable_says_so_and_changes_nothing(app, client, sign_in):
    import socket

    with socket.socket() as probe:  # a port nothing listens on: the gateway is "down"
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    app.config.update(PUBLIC_BASE_URL=f"http://127.0.0.1:{closed_port}", ALIPAY_TIMEOUT=2)
    sign_in()
    number = make_order(app, promo="WELCOME10")
    page = client.get(f"/orders/{number}")
    response = client.post(f"/orders/{number}/cancel", data={"csrf_token": csrf_token(page.text)})
    assert response.status_code == 303
    assert "We could not reach the payment service to cancel" in client.get(f"/orders/{number}").text
    order = state_of(app, number)
    assert order.state == "pending_payment" and order.promotion_id is not None
    assert [t.to_state for t in order.transitions] == ["pending_payment"]


def test_cancel_outcomes_each_have_words_for_the_traveller_but_nothing_to_do():
    from blueprints.account_orders import CANCEL_MESSAGES

    assert set(CANCEL_MESSAGES) == set(payment_events.CancelOutcome) - {payment_events.CancelOutcome.NOT_UNPAID}
