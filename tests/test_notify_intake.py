"""Posts to the notify URL that Alipay did not sign: capped, sampled, limited; signed ones never are."""

import contextlib
import http.client
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from conftest import make_order
from sqlalchemy import select
from test_notifications import notification

from extensions import db
from models import PaymentNotification
from rules.payments import unsigned_notifications

NOTIFY = "/payments/alipay/notify"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CAP = 16 * 1024
GUNICORN = os.path.join(os.path.dirname(sys.executable), "gunicorn")


def rows(app) -> list[PaymentNotification]:
    with app.app_context():
        found = db.session.scalars(select(PaymentNotification).order_by(PaymentNotification.id)).all()
        db.session.expunge_all()
        return found


def post_chunked(base_url: str, body: bytes) -> int:
    """POST `body` with Transfer-Encoding: chunked (no Content-Length), as a raw HTTP client would."""
    host, port = base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.putrequest("POST", NOTIFY)
        conn.putheader("Content-Type", "application/x-www-form-urlencoded")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for start in range(0, len(body), 4096):
            chunk = body[start : start + 4096]
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        conn.send(b"0\r\n\r\n")
        return conn.getresponse().status
    except (ConnectionResetError, BrokenPipeError):
        return 413  # the server answered 413 and closed before reading everything
    finally:
        conn.close()


def junk(size: int) -> bytes:
    return (b"out_trade_no=RR1&notify_id=x&padding=" + b"A" * size)[:size]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(database_url: str, workers: int = 2, args: tuple[str, ...] = (), **env):
    """The app under gunicorn (gunicorn.conf.py included) on 127.0.0.1; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [GUNICORN, "--workers", str(workers), "--bind", f"127.0.0.1:{port}", *args, "app:create_app()"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "PAGE_CACHE_SECONDS": "0", **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except OSError:
                assert process.poll() is None, process.stderr.read().decode()
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)


def test_a_chunked_body_over_the_cap_is_refused_and_not_stored_under_the_dev_server(app, live_server):
    assert post_chunked(live_server, junk(CAP + 1)) == 413
    assert post_chunked(live_server, junk(200_000)) == 413
    assert rows(app) == []
    assert post_chunked(live_server, junk(CAP)) == 400  # at the cap: read, and refused as unsigned
    assert [len(row.body) for row in rows(app)] == [unsigned_notifications.SAMPLE_BYTES]


def test_under_gunicorn_the_cap_holds_for_chunked_bodies_and_the_limit_holds_across_workers(app, migrated_url):
    with gunicorn(migrated_url, workers=2, UNSIGNED_NOTIFICATIONS_PER_HOUR="5") as base:
        assert post_chunked(base, junk(CAP + 1)) == 413
        assert post_chunked(base, junk(1_000_000)) == 413
        assert rows(app) == []
        statuses = [post_chunked(base, junk(CAP)) for _ in range(12)]
    assert statuses == [400] * 5 + [429] * 7
    kept = rows(app)
    assert len(kept) == 5 and all(len(row.body) <= unsigned_notifications.SAMPLE_BYTES for row in kept)
    assert {row.ip for row in kept} == {"127.0.0.1"} and kept[-1].repeats == 7


def test_unsigned_posts_keep_a_bounded_sample_per_sender_then_are_only_counted(app_with):
    app = app_with(UNSIGNED_NOTIFICATIONS_PER_HOUR=3)
    client = app.test_client()
    statuses = [client.post(NOTIFY, data={"out_trade_no": "RR1", "pad": "x" * 10_000}).status_code for _ in range(8)]
    assert statuses == [400] * 3 + [429] * 5
    other = app.test_client().post(NOTIFY, data={"pad": "y"}, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 400  # another sender has its own sample
    kept = rows(app)
    assert [(row.ip, row.outcome) for row in kept] == [("127.0.0.1", "missing_fields")] * 3 + [
        ("192.0.2.7", "missing_fields")
    ]
    assert max(len(row.body) for row in kept) == unsigned_notifications.SAMPLE_BYTES
    assert [row.repeats for row in kept] == [0, 0, 5, 0]


def test_a_badly_signed_notification_counts_towards_the_limit(app_with):
    app = app_with(UNSIGNED_NOTIFICATIONS_PER_HOUR=2)
    client = app.test_client()
    forged = {**notification(app, make_order(app)), "total_amount": "0.01"}
    assert [client.post(NOTIFY, data=forged).status_code for _ in range(3)] == [400, 400, 429]
    assert [row.outcome for row in rows(app)] == ["bad_signature"] * 2


def test_a_signed_notification_is_never_limited_and_is_kept_whole(app_with):
    app = app_with(UNSIGNED_NOTIFICATIONS_PER_HOUR=1)
    client = app.test_client()
    number = make_order(app)
    for _ in range(3):
        client.post(NOTIFY, data={"out_trade_no": number})
    signed = notification(app, number, subject="R" * 3000)  # longer than an unsigned sample
    response = client.post(NOTIFY, data=signed)
    assert response.status_code == 200 and response.text == "success"
    paid = rows(app)[-1]
    assert paid.outcome == "paid" and paid.ip == "127.0.0.1"
    assert len(paid.body) > unsigned_notifications.SAMPLE_BYTES and "R" * 3000 in paid.body


def test_a_crlf_in_a_field_cannot_forge_a_log_line(app, client, caplog):
    caplog.set_level(logging.WARNING)
    client.post(NOTIFY, data={"out_trade_no": "RR1\r\n2026-11-28 INFO payment RR1 paid"})
    messages = [record.getMessage() for record in caplog.records if "unsigned payment notification" in record.msg]
    assert messages and all("\n" not in m and "\r" not in m for m in messages)
    assert "RR1\\r\\n2026-11-28 INFO payment RR1 paid" in messages[0]


@pytest.mark.parametrize("text", ["a\nb", "a\rb", "a\x1b[31mb", "a\u2028b", "a\x00b", "a\x85b"])
def test_every_log_record_is_one_line_whatever_its_arguments(app, text, caplog):
    caplog.set_level(logging.INFO)
    logging.getLogger("any.library").info("value=%s and %r", text, {"k": text})
    (record,) = [r for r in caplog.records if r.name == "any.library"]
    assert all(ch not in record.getMessage() for ch in "\n\r\x1b\u2028\x00\x85")
    assert record.getMessage().startswith("value=a\\")
