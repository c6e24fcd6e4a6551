"""A session ends after SESSION_IDLE_DAYS without use and SESSION_MAX_DAYS at most; a traveller
can end every other session of the account."""

from datetime import timedelta

import pytest
from conftest import code_from_sms, last_sms, post_form
from sqlalchemy import select

from extensions import db
from models import LoginCode
from web import traveller_sessions

PHONE = "+85291234567"
DAY = 86400


@pytest.fixture
def clock(monkeypatch):
    """The sessions' clock, moved by hand: clock.advance(days=3)."""

    class Clock:
        now = traveller_sessions.now()

        def advance(self, days: float) -> None:
            self.now += int(days * DAY)

    moved = Clock()
    monkeypatch.setattr(traveller_sessions, "now", lambda: moved.now)
    return moved


def signed_in(client) -> bool:
    return client.get("/cards").status_code == 200


def test_a_session_used_now_and_then_lasts_until_its_thirtieth_day(client, sign_in, clock):
    sign_in(PHONE)
    for _ in range(3):
        clock.advance(days=9.5)
        assert signed_in(client)  # day 9.5, 19, 28.5: never 14 days unused
    clock.advance(days=1.6)
    assert not signed_in(client)  # past day 30, however recently it was used
    assert client.get("/cards").headers["Location"].startswith("/login")


def test_a_session_unused_for_fourteen_days_ends(client, sign_in, clock):
    sign_in(PHONE)
    clock.advance(days=13.9)
    assert signed_in(client)
    clock.advance(days=13.9)  # used at 13.9, so 27.8 is still within 14 days of use
    assert signed_in(client)
    clock.advance(days=14.1)
    assert not signed_in(client)


def test_the_limits_are_settings(app_with, sign_in, clock):
    app = app_with(SESSION_IDLE_DAYS=1, SESSION_MAX_DAYS=2)
    client = app.test_client()
    post_form(client, "/login", phone=PHONE)
    post_form(client, "/login/code", code=code_from_sms(last_sms(app, PHONE)))
    clock.advance(days=0.9)
    assert signed_in(client)
    clock.advance(days=1.1)
    assert not signed_in(client)


def test_a_session_without_its_times_is_over(client, sign_in):
    sign_in(PHONE)
    with client.session_transaction() as session:
        del session["signed_in_at"]
    assert not signed_in(client)


def test_a_session_whose_sign_in_time_is_edited_back_ends(client, sign_in):
    sign_in(PHONE)
    with client.session_transaction() as session:
        session["signed_in_at"] -= 31 * DAY
    assert not signed_in(client)


def another_device(app, sign_in):
    """A second browser signing in to the same account (after the resend cool-down)."""
    with app.app_context():
        for code in db.session.scalars(select(LoginCode)):
            code.created_at -= timedelta(minutes=2)
        db.session.commit()
    device = app.test_client()
    sign_in(PHONE, the_client=device)
    return device


def test_sign_out_on_other_devices_keeps_this_session_and_ends_the_others(app, client, sign_in):
    sign_in(PHONE)
    phone_browser = another_device(app, sign_in)
    copied = app.test_client()
    copied.set_cookie("session", client.get_cookie("session").value)
    assert signed_in(phone_browser) and signed_in(copied)
    page = client.get("/account")
    assert "Sign out on all other devices" in page.text
    response = post_form(client, "/account", action="/logout/others")
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    assert "signed out on every other device" in client.get("/account").text
    assert signed_in(client)
    assert not signed_in(phone_browser) and not signed_in(copied)
