"""The sandbox gateway retries notifications like Alipay, from rows, and can time out a share of API calls.

Real HTTP throughout: the app on a werkzeug server on 127.0.0.1, the SDK calling its sandbox
gateway, notifications posted to the app's own notify URL or to a small receiver.
"""

import itertools
import json
import threading
import time
from datetime import timedelta
from urllib.parse import parse_qsl

import pytest
from conftest import csrf_token
from http_stub import posting_server
from sqlalchemy import select
from test_sandbox_gateway import checkout, open_cashier, signed_url
from werkzeug.serving import make_server

from extensions import db
from gateways import alipay_gateway
from gateways.alipay_gateway import GatewayError
from models import PaymentNotification, utcnow
from sandbox import alipay_signer, deliveries
from sandbox.models import SandboxDelivery

SCALE = 0.0001  # Alipay's 25 hours in about 9 seconds
SCHEDULE = [gap * SCALE for gap in (240, 600, 600, 3600, 7200, 21600, 54000)]
SLACK = 1.5  # seconds a post may come late (the delivery thread, a loaded test machine); never early


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("alipay-keys"))


def serve(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    app.config["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{server.port}"
    return server


@pytest.fixture
def live(app, key_dir):
    """The app served over real HTTP, on the compressed clock; in a request."""
    app.config.update(ALIPAY_KEY_DIR=key_dir, SANDBOX_TIME_SCALE=SCALE)
    server = serve(app)
    with app.test_request_context():
        yield app
    deliveries.stop(app)  # the next test's rows are not this app's to deliver
    server.shutdown()
    server.server_close()


class TimedReceiver:
    """A merchant answering `fail` to its first `failures` posts, then `success`; notes when each came."""

    def __init__(self, failures: int):
        self.failures, self.times, self.url = failures, [], ""

    def answer(self, _path, _headers, body: bytes):
        self.times.append(time.monotonic())
        assert dict(parse_qsl(body.decode()))["trade_status"] == "TRADE_SUCCESS"
        return 200, b"fail" if len(self.times) <= self.failures else b"success"


def wait_until(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert condition()


def gaps(times) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def assert_on_schedule(times) -> None:
    expected = SCHEDULE[: len(times) - 1]
    for gap, want in zip(gaps(times), expected, strict=True):
        assert want <= gap + 0.01 and gap <= want + SLACK, (gaps(times), expected)


def the_delivery(trade_no: str | None = None) -> SandboxDelivery:
    db.session.rollback()  # a fresh look at what the delivery thread committed
    query = select(SandboxDelivery).order_by(SandboxDelivery.id.desc())
    if trade_no:
        query = query.where(SandboxDelivery.trade_no == trade_no)
    return db.session.scalars(query).first()


def test_the_schedule_is_alipays_gaps_times_the_time_scale():
    assert deliveries.retry_gaps("alipay", 1) == [240, 600, 600, 3600, 7200, 21600, 54000]
    assert sum(deliveries.retry_gaps("alipay", 0.001)) == pytest.approx(87.84)
    assert deliveries.SCHEDULES["alipay"].tries == 8


def test_a_refused_notification_comes_again_on_the_schedule_and_stops_at_success(live, client):
    merchant = TimedReceiver(failures=3)
    with posting_server(merchant.answer) as base:
        checkout(client, "RRRETRY", f"{base}/payments/alipay/notify")
        wait_until(lambda: len(merchant.times) == 4, 5)
        time.sleep(SCHEDULE[3] + SLACK)  # the next gap passes: nothing more comes
    assert len(merchant.times) == 4
    assert_on_schedule(merchant.times)
    row = the_delivery()
    assert (row.attempts, row.answered, row.done_at is not None) == (4, True, True)


def test_the_apps_own_notify_url_refusing_gets_eight_posts_on_the_schedule_then_no_more(live):
    params = alipay_signer.sign_as_alipay(
        {
            "notify_type": "trade_status_sync",
            "notify_id": "n-unknown",
            "notify_time": alipay_signer.alipay_now(),
            "app_id": alipay_gateway.app_id(),
            "seller_id": alipay_gateway.seller_id(),
            "out_trade_no": "RRNOSUCHORDER",
            "trade_no": "2026120322001000000001",
            "trade_status": "TRADE_SUCCESS",
            "total_amount": "88.00",
        }
    )
    notify_url = live.config["PUBLIC_BASE_URL"] + "/payments/alipay/notify"
    deliveries.enqueue("alipay", "2026120322001000000001", notify_url, [(0, json.dumps(params))])
    deliveries.wake(live)

    def received():
        db.session.rollback()
        return db.session.scalars(
            select(PaymentNotification.received_at)
            .where(PaymentNotification.out_trade_no == "RRNOSUCHORDER")
            .order_by(PaymentNotification.id)
        ).all()

    wait_until(lambda: the_delivery().done_at is not None, sum(SCHEDULE) + 8 * SLACK)
    row = the_delivery()
    assert (row.attempts, row.answered) == (8, False)  # the app never said `success`
    times = [stamp.timestamp() for stamp in received()]
    assert len(times) == 8
    assert_on_schedule(times)


def test_pending_deliveries_are_rows_that_a_restarted_app_still_delivers(app_with, key_dir):
    """The process that stored them died: a new app object's first request starts delivering them,
    at the attempt they had reached, and the next gap follows that attempt."""
    merchant = TimedReceiver(failures=1)
    first = app_with(ALIPAY_KEY_DIR=key_dir, SANDBOX_TIME_SCALE=SCALE)
    with posting_server(merchant.answer) as base, first.test_request_context():
        params = alipay_signer.sign_as_alipay({"out_trade_no": "RRRESTART", "trade_status": "TRADE_SUCCESS"})
        deliveries.enqueue("alipay", "T-RESTART", f"{base}/notify", [(0, json.dumps(params))])  # stored; never woken
        db.session.execute(
            SandboxDelivery.__table__.update().values(attempts=3, due_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        time.sleep(0.3)
        assert merchant.times == []  # nothing delivers it in the dead process

        restarted = app_with(ALIPAY_KEY_DIR=key_dir, SANDBOX_TIME_SCALE=SCALE)
        assert restarted.test_client().get("/plans").status_code == 200
        wait_until(lambda: len(merchant.times) == 2, 5)
        assert SCHEDULE[3] - 0.01 <= gaps(merchant.times)[0] <= SCHEDULE[3] + SLACK  # the 4th post's gap
        wait_until(lambda: the_delivery("T-RESTART").done_at is not None, 2)
        row = the_delivery("T-RESTART")
        assert (row.attempts, row.answered) == (5, True)
    for made in (first, restarted):
        deliveries.stop(made)


def set_timeouts(client, percent) -> None:
    page = client.get("/sandbox/alipay/")
    assert page.status_code == 200 and 'name="timeout_percent"' in page.text
    response = client.post("/sandbox/alipay/", data={"csrf_token": csrf_token(page.text), "timeout_percent": percent})
    assert response.status_code == 303, response.text


def test_the_timeout_switch_makes_a_share_of_queries_gateway_errors_and_the_rest_answer(live, client):
    live.config["ALIPAY_TIMEOUT"] = 0.6
    open_cashier(client, signed_url("RRSLOWQ"))
    set_timeouts(client, 50)
    failed, answered = 0, 0
    for _ in range(24):
        try:
            assert alipay_gateway.query("RRSLOWQ").trade_status == "WAIT_BUYER_PAY"
            answered += 1
        except GatewayError as error:
            assert "within 0.6 s" in str(error)
            failed += 1
    assert failed >= 3 and answered >= 3, (failed, answered)
    set_timeouts(client, 0)
    assert [alipay_gateway.query("RRSLOWQ").trade_status for _ in range(5)] == ["WAIT_BUYER_PAY"] * 5


def test_every_call_times_out_at_100_percent_and_the_switch_refuses_nonsense(live, client):
    live.config["ALIPAY_TIMEOUT"] = 0.2
    set_timeouts(client, 100)
    for call in (lambda: alipay_gateway.query("RRX"), lambda: alipay_gateway.close("RRX")):
        with pytest.raises(GatewayError):
            call()
    page = client.get("/sandbox/alipay/")
    response = client.post("/sandbox/alipay/", data={"csrf_token": csrf_token(page.text), "timeout_percent": "101"})
    assert response.status_code == 422
    assert 'value="100"' in client.get("/sandbox/alipay/").text  # unchanged


def test_delivery_params_are_kept_as_the_signed_notification(live, client):
    with posting_server(lambda *_: (200, b"success")) as base:
        checkout(client, "RRKEPT", f"{base}/notify")
        wait_until(lambda: the_delivery() is not None and the_delivery().answered, 5)
    assert alipay_gateway.verify_signature(json.loads(the_delivery().params))


def test_a_delivery_another_process_is_posting_is_looked_at_again_when_its_lease_ends_not_at_once(app):
    """A worker killed mid-post leaves its row claimed: the others wait for the lease, they do not spin on it."""
    with app.app_context():
        lease_ends = utcnow() + timedelta(seconds=10)
        db.session.add(
            SandboxDelivery(
                provider="alipay",
                trade_no="2026120422000000000001",
                step=0,
                notify_url="http://127.0.0.1:9/payments/alipay/notify",
                params="{}",
                due_at=utcnow() - timedelta(seconds=1),
                claimed_until=lease_ends,
            )
        )
        db.session.commit()
        assert 8 < deliveries.deliver_due() <= 10
