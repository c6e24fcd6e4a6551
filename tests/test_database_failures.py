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
    assert "Nothing was lost and nothing was charged twice" in response.text


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
