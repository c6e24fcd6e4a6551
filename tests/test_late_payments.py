"""A payment that reaches an order which can no longer take it is refunded, once, and said so.

The hole: a traveller keeps the signed cashier URL without opening it, cancels the order (the
gateway has no trade yet, so closing it finds nothing), then opens the kept URL and pays. Runs
against the sandbox gateway over real HTTP, with the SDK signing and verifying.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from conftest import csrf_token, load_order, make_order
from sqlalchemy import select

import jobs
from extensions import db
from gateways import alipay_gateway
from models import Order, PaymentNotification, Refund, SmsMessage, utcnow
from sandbox import alipay_ledger as ledger
from sandbox.models import SandboxTrade

NOTIFY = "/payments/alipay/notify"
WAIT_SECONDS = 10


def kept_cashier_url(client, number) -> str:
    """The signed cashier URL /orders/<number>/pay sends the browser to, not opened."""
    to_gateway = client.get(f"/orders/{number}/pay")
    assert to_gateway.status_code == 303, to_gateway.text
    url = urlsplit(to_gateway.headers["Location"])
    assert url.path == "/sandbox/alipay/gateway.do"
    return f"{url.path}?{url.query}"


def cancel(client, number):
    status_page = client.get(f"/orders/{number}")
    return client.post(f"/orders/{number}/cancel", data={"csrf_token": csrf_token(status_page.text)})


def pay_kept_url(client, url, behaviour="normal"):
    cashier = client.get(url)
    assert cashier.status_code == 200, cashier.text
    trade_no = cashier.text.split("/sandbox/alipay/trades/")[1].split("/pay")[0]
    return client.post(
        f"/sandbox/alipay/trades/{trade_no}/pay",
        data={"csrf_token": csrf_token(cashier.text), "behaviour": behaviour, "delay": "0"},
    )


def wait_for(check, seconds=WAIT_SECONDS):
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.05)
    return check()


def run_jobs(app):
    with app.app_context():  # as `flask jobs run` does: no request
        return jobs.run_once()


def refunds_of(app, number):
    with app.app_context():
        rows = db.session.scalars(select(Refund).join(Refund.order).where(Refund.order.has(number=number))).all()
        db.session.expunge_all()
        return rows


def sandbox_trade(app, number):
    with app.app_context():
        trade = db.session.scalars(select(SandboxTrade).where(SandboxTrade.out_trade_no == number)).one()
        db.session.expunge(trade)
        return trade


def sms_about(app, purpose_prefix="refund"):
    with app.app_context():
        return [
            m.body
            for m in db.session.scalars(
                select(SmsMessage).where(SmsMessage.purpose.startswith(purpose_prefix)).order_by(SmsMessage.id)
            )
        ]


def test_paying_a_kept_cashier_url_after_cancelling_is_refunded_in_full(app, client, live_server, sign_in):
    sign_in()
    number = make_order(app)
    url = kept_cashier_url(client, number)
    cancelled = cancel(client, number)
    assert cancelled.status_code == 303
    assert load_order(app, number).state == "cancelled"
    flash = client.get(f"/orders/{number}").text
    assert "Nothing was charged" not in flash  # a kept URL can still create a trade

    paid = pay_kept_url(client, url)
    assert paid.status_code == 303  # the gateway took the money: the hole is the merchant's to close

    # The notification records the refund, due at once; the job worker asks the gateway.
    assert wait_for(lambda: run_jobs(app) and [r.status for r in refunds_of(app, number)] == ["done"]), refunds_of(
        app, number
    )
    (refund,) = refunds_of(app, number)
    trade = sandbox_trade(app, number)
    assert (refund.reason, refund.trade_no, refund.amount_cents) == ("paid_after_cancel", trade.trade_no, 5800)
    assert trade.refunded_amount_cents == 5800 and trade.status == "TRADE_CLOSED"
    assert trade.refund_requests == refund.out_request_no
    assert load_order(app, number).state == "cancelled"

    page = client.get(f"/orders/{number}").text
    assert "Paid after cancelling: refunded HK$58.00" in page and "Nothing was charged" not in page
    assert wait_for(lambda: len(sms_about(app)) == 1)
    (body,) = sms_about(app)
    assert number in body and "HK$58.00" in body and "refunded" in body


# --- duplicates, concurrency, retries --------------------------------------------------------------


def two_workers(app, task):
    """`task` in two job workers released together, each with its own app context; their results."""
    start = threading.Barrier(2)

    def worker():
        with app.app_context():
            start.wait(timeout=10)
            try:
                return task()
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=2) as pool:
        return [f.result() for f in [pool.submit(worker) for _ in range(2)]]


def paid_after_cancelling(app, client, sign_in, locale="en"):
    """An order cancelled, then paid through a kept cashier URL with no notification sent (drop);
    its number and the signed TRADE_SUCCESS notification the gateway would send."""
    phone = sign_in()
    number = make_order(app, phone=phone, locale=locale)
    url = kept_cashier_url(client, number)
    assert cancel(client, number).status_code == 303
    assert pay_kept_url(client, url, behaviour="drop").status_code == 303
    with app.test_request_context():
        trade = db.session.scalars(select(SandboxTrade).where(SandboxTrade.out_trade_no == number)).one()
        paid, _waiting = ledger.notifications(trade)
    assert paid["trade_status"] == "TRADE_SUCCESS"
    return number, paid


@pytest.fixture
def gateway_refunds(monkeypatch):
    """Every alipay_gateway.refund call that reached the gateway: its fund_change (True: money moved)."""
    calls = []
    real = alipay_gateway.refund

    def counting(*args, **kwargs):
        result = real(*args, **kwargs)
        calls.append(result.fund_change)
        return result

    monkeypatch.setattr(alipay_gateway, "refund", counting)
    return calls


def outcomes(app, number):
    with app.app_context():
        return sorted(
            db.session.scalars(select(PaymentNotification.outcome).where(PaymentNotification.out_trade_no == number))
        )


def test_the_same_late_notification_again_refunds_once_and_texts_once(
    app, client, live_server, sign_in, gateway_refunds
):
    number, paid = paid_after_cancelling(app, client, sign_in)
    answers = [app.test_client().post(NOTIFY, data=paid).text for _ in range(5)]
    assert answers == ["success"] * 5
    assert outcomes(app, number) == ["duplicate"] * 4 + ["refund:paid_after_cancel"]
    assert [r.status for r in refunds_of(app, number)] == ["requested"] and gateway_refunds == []  # recorded, due
    assert run_jobs(app)["refunds"] == 1
    assert [r.status for r in refunds_of(app, number)] == ["done"] and gateway_refunds == [True]
    assert sandbox_trade(app, number).refunded_amount_cents == 5800
    assert len(sms_about(app)) == 1
    assert run_jobs(app)["refunds"] == 0  # nothing left for the worker


@pytest.mark.postgresql_only
def test_twenty_parallel_copies_of_a_late_notification_refund_once(app, client, live_server, sign_in, gateway_refunds):
    number, paid = paid_after_cancelling(app, client, sign_in)
    start = threading.Barrier(20)

    def deliver(_):
        the_client = app.test_client()
        start.wait(timeout=10)
        return the_client.post(NOTIFY, data=paid).text

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(deliver, range(20)))
    assert answers == ["success"] * 20
    assert outcomes(app, number) == ["duplicate"] * 19 + ["refund:paid_after_cancel"]
    assert sum(two_workers(app, jobs.retry_refunds)) == 1  # two workers at once: one asks the gateway
    assert [r.status for r in refunds_of(app, number)] == ["done"]
    assert gateway_refunds == [True]  # one call to the gateway, and money moved once
    trade = sandbox_trade(app, number)
    assert trade.refunded_amount_cents == 5800 and len(trade.refund_requests.split()) == 1
    assert len(sms_about(app)) == 1 and load_order(app, number).state == "cancelled"


def test_a_refund_the_gateway_cannot_take_stays_in_progress_and_the_job_retries_it_later(
    app, client, live_server, sign_in, gateway_refunds
):
    number, paid = paid_after_cancelling(app, client, sign_in)
    app.config["PUBLIC_BASE_URL"] = "http://127.0.0.1:9"  # the gateway is unreachable for a while
    assert app.test_client().post(NOTIFY, data=paid).text == "success"  # recorded: Alipay may stop sending
    assert run_jobs(app)["refunds"] == 1  # the worker's first attempt fails: the gateway is unreachable
    (refund,) = refunds_of(app, number)
    assert (refund.status, refund.attempts, refund.reason) == ("requested", 1, "paid_after_cancel")
    assert "unreachable" in refund.last_error and refund.next_attempt_at is not None
    page = client.get(f"/orders/{number}").text
    assert "Paid after cancelling: HK$58.00, refund in progress." in page and "Nothing was charged" not in page
    assert 'hx-trigger="load delay:5s"' in page  # the page updates itself until the refund is confirmed
    assert sms_about(app) == []  # the SMS says "refunded" only once it is true

    app.config["PUBLIC_BASE_URL"] = live_server
    assert run_jobs(app)["refunds"] == 0  # not due yet: backoff
    with app.app_context():
        db.session.execute(db.update(Refund).values(next_attempt_at=utcnow()))
        db.session.commit()
    assert run_jobs(app)["refunds"] == 1
    (refund,) = refunds_of(app, number)
    assert (refund.status, refund.attempts) == ("done", 2) and refund.done_at is not None
    assert gateway_refunds == [True] and sandbox_trade(app, number).refunded_amount_cents == 5800
    assert len(sms_about(app)) == 1
    page = client.get(f"/orders/{number}").text
    assert "Paid after cancelling: refunded HK$58.00." in page and "in progress" not in page


def test_the_refund_sms_is_in_the_travellers_language(app, client, live_server, sign_in):
    number, paid = paid_after_cancelling(app, client, sign_in, locale="zh_Hant")
    assert app.test_client().post(NOTIFY, data=paid).text == "success"
    run_jobs(app)
    (body,) = sms_about(app)
    assert number in body and "HK$58.00" in body and "退款" in body
    with app.app_context():
        message = db.session.scalars(select(SmsMessage).where(SmsMessage.purpose == "refund")).one()
        assert message.to_phone == "+85291234567"  # the account that paid


def test_a_cancelled_order_says_a_kept_link_would_be_refunded_not_that_nothing_was_charged(
    app, client, live_server, sign_in
):
    sign_in()
    number = make_order(app)
    response = cancel(client, number)
    page = client.get(response.headers["Location"]).text
    assert "Order cancelled. If you pay a link you kept, we&#39;ll refund it automatically." in page
    assert "This order was cancelled. If you pay a payment link you kept for it" in page
    assert "Nothing was charged" not in page
    assert 'hx-trigger="load delay:5s"' in page  # a kept link can still be paid until pay_by


# --- the sandbox honours time_expire like Alipay ----------------------------------------------------


def test_a_cashier_opened_before_time_expire_cannot_pay_after_it(app, client, live_server, sign_in):
    sign_in()
    number = make_order(app)
    cashier = client.get(kept_cashier_url(client, number))
    assert cashier.status_code == 200
    trade = sandbox_trade(app, number)
    assert trade.time_expire == load_order(app, number).pay_by.replace(microsecond=0)
    with app.app_context():
        db.session.execute(db.update(SandboxTrade).values(time_expire=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    trade_no = cashier.text.split("/sandbox/alipay/trades/")[1].split("/pay")[0]
    response = client.post(
        f"/sandbox/alipay/trades/{trade_no}/pay",
        data={"csrf_token": csrf_token(cashier.text), "behaviour": "normal", "delay": "0"},
    )
    assert response.status_code == 409 and "closed" in response.text
    trade = sandbox_trade(app, number)
    assert (trade.status, trade.paid_at) == ("TRADE_CLOSED", None)
    assert load_order(app, number).state == "pending_payment" and refunds_of(app, number) == []


def test_an_unpaid_trade_past_its_time_expire_queries_as_closed(app, client, live_server, sign_in):
    sign_in()
    number = make_order(app)
    client.get(kept_cashier_url(client, number))
    with app.app_context():
        db.session.execute(db.update(SandboxTrade).values(time_expire=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    with app.test_request_context():
        assert alipay_gateway.query(number).trade_status == "TRADE_CLOSED"
        assert alipay_gateway.close(number) is True


def test_a_refund_by_trade_no_refunds_that_trade_and_not_the_orders_own(app, client, live_server, sign_in):
    """A second payment for an already paid order must be refunded by its own trade number."""
    sign_in()
    first = make_order(app)
    second = make_order(app, plan_code="hk-1d")
    for number in (first, second):
        assert pay_kept_url(client, kept_cashier_url(client, number), behaviour="drop").status_code == 303
    other = sandbox_trade(app, second)
    with app.test_request_context():
        result = alipay_gateway.refund(first, 100, "R-BY-TRADE-NO", "second_payment", trade_no=other.trade_no)
    assert result.fund_change is True
    assert sandbox_trade(app, first).refunded_amount_cents == 0
    assert sandbox_trade(app, second).refunded_amount_cents == 100


@pytest.mark.postgresql_only
def test_two_job_workers_retry_each_waiting_refund_exactly_once(app, client, live_server, sign_in, gateway_refunds):
    phone = sign_in()
    numbers, notifications = [], []
    for i, code in enumerate(["hk-1d", "gba-1d", "gba-3d", "gba-7d"]):
        number = make_order(app, plan_code=code, phone=phone, msisdn=f"+8526123{i:04d}")
        url = kept_cashier_url(client, number)
        assert cancel(client, number).status_code == 303
        assert pay_kept_url(client, url, behaviour="drop").status_code == 303
        with app.test_request_context():
            trade = db.session.scalars(select(SandboxTrade).where(SandboxTrade.out_trade_no == number)).one()
            notifications.append(ledger.notifications(trade)[0])
        numbers.append(number)
    app.config["PUBLIC_BASE_URL"] = "http://127.0.0.1:9"  # every first attempt fails
    for params in notifications:
        assert app.test_client().post(NOTIFY, data=params).text == "success"
    with app.app_context():
        assert jobs.retry_refunds() == 4  # each recorded refund's first attempt, at once: all fail
    app.config["PUBLIC_BASE_URL"] = live_server
    with app.app_context():
        db.session.execute(db.update(Refund).values(next_attempt_at=utcnow()))
        db.session.commit()
    tried = two_workers(app, jobs.retry_refunds)
    assert sum(tried) == 4 and gateway_refunds == [True] * 4
    for number in numbers:
        assert [(r.status, r.attempts) for r in refunds_of(app, number)] == [("done", 2)]
    assert len(sms_about(app)) == 4


def test_a_late_payment_whose_notification_was_lost_is_found_and_refunded_by_the_job(
    app, client, live_server, sign_in, gateway_refunds
):
    number, _paid = paid_after_cancelling(app, client, sign_in)  # "drop": no notification ever comes
    assert run_jobs(app)["cancelled_checked"] == 0  # the kept URL can still be paid: too early to tell
    with app.app_context():
        db.session.execute(db.update(Order).values(pay_by=utcnow() - jobs.LATE_MARGIN - timedelta(seconds=1)))
        db.session.commit()
    done = run_jobs(app)
    assert (done["cancelled_checked"], done["refunds"]) == (1, 1)
    assert [(r.reason, r.status) for r in refunds_of(app, number)] == [("paid_after_cancel", "done")]
    assert gateway_refunds == [True] and len(sms_about(app)) == 1
    assert run_jobs(app)["cancelled_checked"] == 0  # asked once
