"""A database that fails is answered in words (503 with Retry-After), never a bare 500; a deadlock's
victim is run once more; service comes back by itself."""

import os
import socket

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app import create_app
from extensions import db
from web import db_failures

WORDS = "Nothing was lost and nothing was charged twice"
ON_POSTGRESQL = (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgresql")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////nonexistent-roamrenew-dir/roamrenew.db",
        f"postgresql+psycopg://app@127.0.0.1:{closed_port()}/roamrenew",
    ],
    ids=["sqlite file missing", "postgresql unreachable"],
)
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_a_database_that_cannot_be_reached_is_answered_503_in_words(tmp_path, url, htmx):
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "STATIC_BUILD_DIR": str(tmp_path)})
    headers = {"HX-Request": "true"} if htmx else {}
    response = app.test_client().get("/plans", headers=headers)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(db_failures.RETRY_AFTER_SECONDS)
    assert WORDS in response.text


class Deadlock(Exception):
    sqlstate = "40P01"


def deadlocking_view(times: int):
    calls = []

    def view():
        calls.append(1)
        db.session.execute(text("SELECT 1"))
        if len(calls) <= times:
            raise OperationalError("UPDATE orders …", {}, Deadlock("deadlock detected"))
        return "done"

    return view, calls


def test_the_victim_of_a_deadlock_is_run_once_more_and_succeeds(app_with):
    app = app_with()
    view, calls = deadlocking_view(times=1)
    app.add_url_rule("/_deadlock_once", "deadlock_once", db_failures.retried_once(view))
    response = app.test_client().get("/_deadlock_once")
    assert (response.status_code, response.text, len(calls)) == (200, "done", 2)


def test_a_deadlock_twice_is_answered_503_with_retry_after(app_with):
    app = app_with()
    view, calls = deadlocking_view(times=5)
    app.add_url_rule("/_deadlock_always", "deadlock_always", db_failures.retried_once(view))
    response = app.test_client().get("/_deadlock_always")
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert len(calls) == 2  # once more, not forever


def test_every_view_of_the_app_is_retried_once(app):
    assert all(hasattr(view, "__wrapped__") for view in app.view_functions.values())


@pytest.mark.postgresql_only
@pytest.mark.skipif(not ON_POSTGRESQL, reason="PostgreSQL's own connections and settings")
def test_connections_killed_by_a_database_restart_are_replaced_without_an_error(app, client, plans):
    assert client.get("/plans").status_code == 200
    with app.app_context(), db.engine.connect() as admin:
        admin.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
                " AND datname = current_database()"
            )
        )
    assert client.get("/plans").status_code == 200


@pytest.mark.postgresql_only
@pytest.mark.skipif(not ON_POSTGRESQL, reason="PostgreSQL's own connections and settings")
def test_lock_and_statement_timeouts_reach_every_connection(app_with):
    app = app_with(DB_LOCK_TIMEOUT_MS="1200", DB_STATEMENT_TIMEOUT_MS="9000")
    with app.app_context():
        assert db.session.scalar(text("SHOW lock_timeout")) == "1200ms"
        assert db.session.scalar(text("SHOW statement_timeout")) == "9s"


# On a real PostgreSQL: a lock waited on too long, a connection cut mid-request, a re-confirm racing a payment.


def with_route(app, view, rule="/test-db"):
    """The app with one extra view (before its first request, as Flask requires)."""
    app.add_url_rule(rule, view.__name__, view, methods=["GET", "POST"])
    return app


def checkout_form(app, client, sign_in):
    """A signed-in traveller's review of GBA 3-day for their card, as the confirm button posts it."""
    from conftest import csrf_token
    from test_checkout import PHONE, add_card

    sign_in(PHONE, client)
    card_id = add_card(app)
    page = client.get(f"/checkout?plan=gba-3d&card={card_id}")
    return PHONE, {"csrf_token": csrf_token(page.text), "plan": "gba-3d", "card": card_id}


@pytest.mark.postgresql_only
def test_a_lock_waited_on_past_lock_timeout_answers_the_worded_503_and_makes_nothing(app_with, plans, sign_in):
    from sqlalchemy import create_engine, select

    from models import Order

    app = app_with(DB_LOCK_TIMEOUT_MS=300)
    client = app.test_client()
    phone, form = checkout_form(app, client, sign_in)
    holder = create_engine(app.config["SQLALCHEMY_DATABASE_URI"]).connect()
    try:
        holder.execute(text("SELECT id FROM account WHERE phone = :p FOR UPDATE"), {"p": phone})
        response = client.post("/checkout/confirm", data={**form, "start": "now"})
    finally:
        holder.rollback()
        holder.close()
    assert response.status_code == 503 and WORDS in response.text and response.headers["Retry-After"] == "5"
    with app.app_context():
        assert db.session.scalar(select(Order.id)) is None  # nothing half-made
    assert client.post("/checkout/confirm", data={**form, "start": "now"}).status_code in (302, 303)  # then served


@pytest.mark.postgresql_only
def test_a_connection_cut_mid_request_answers_503_then_service_resumes(app_with):
    from sqlalchemy import select

    from models import Account

    def cut():
        db.session.execute(select(Account.id).limit(1))
        db.session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))  # as a restart does
        return "not reached"

    def read():
        return str(db.session.scalar(select(1)))

    app = with_route(with_route(app_with(), cut, "/cut"), read)
    client = app.test_client()
    response = client.get("/cut")
    assert response.status_code == 503 and WORDS in response.text and response.headers["Retry-After"] == "5"
    assert client.get("/test-db").text == "1"  # the pool replaced the dead connection
    assert client.get("/cut").status_code == 503 and client.get("/test-db").text == "1"


def pay_and_hold(app, number, claimed, waiter_seen):
    """Apply the payment in its own transaction and keep it open until the re-confirm waits on it."""
    import time

    from sqlalchemy import select

    from models import Order
    from rules.payments import payment_events

    with app.test_request_context():
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        assert payment_events.apply_paid(order, "2026112522001400000009", "notification", {}) == "paid"
        me = db.session.scalar(text("SELECT pg_backend_pid()"))
        claimed.set()
        waits_on_me = text("SELECT count(*) FROM pg_stat_activity WHERE :me = ANY(pg_blocking_pids(pid))")
        with db.engine.connect() as watcher:
            for _ in range(30):  # at most 3 s: under the re-confirm's lock_timeout (5 s)
                if watcher.execute(waits_on_me, {"me": me}).scalar():
                    waiter_seen.set()
                    break
                time.sleep(0.1)
        db.session.commit()


@pytest.mark.postgresql_only
def test_a_reconfirm_racing_a_notification_waits_then_leaves_the_paid_order_as_it_is(app, client, plans, sign_in):
    """Through HTTP: the payment holds its order row for up to 3 s; the re-confirm waits on it (no
    deadlock: nothing locks the account after an order), then is told, and the paid order keeps its dates."""
    import threading

    from conftest import load_order
    from sqlalchemy import select

    from models import Order

    _phone, form = checkout_form(app, client, sign_in)
    first = client.post("/checkout/confirm", data={**form, "start": "now"})
    assert first.status_code in (302, 303), first.text
    with app.app_context():
        number = db.session.scalars(select(Order.number)).one()
    before = load_order(app, number)
    claimed, waiter_seen = threading.Event(), threading.Event()
    payer = threading.Thread(target=pay_and_hold, args=(app, number, claimed, waiter_seen))
    payer.start()
    assert claimed.wait(10)
    again = client.post("/checkout/confirm", data={**form, "start": "after_current"})
    payer.join(15)
    assert again.status_code < 500, again.status_code  # no deadlock, no lock timeout
    if waiter_seen.is_set():  # it waited on the payment's row lock (a busy machine may not stage the race)
        assert "paid or changed a moment ago" in again.text, again.status_code
    paid = load_order(app, number)
    assert paid.state == "paid" and paid.start_mode == "now"
    assert (paid.validity_start, paid.validity_end) == (before.validity_start, before.validity_end)
