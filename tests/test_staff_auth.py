"""Staff sign-in: password then TOTP, one use per code, limits, session ends, disabled accounts, the CLI."""

import pyotp
import pytest
from conftest import csrf_token
from staff_support import PASSWORD, code_now, make_staff, paid_order_number, post, staff_sign_in, to_sign_in

from extensions import db
from models import StaffLoginAttempt, StaffUser
from rules.staff import staff_accounts


@pytest.fixture
def clock(monkeypatch):
    """The staff clock, moved by hand: clock.move(seconds)."""

    class Clock:
        t = float(int(staff_accounts.now()) // 30 * 30 + 5)  # early in a 30 s step: codes stay valid

        def move(self, seconds: float) -> None:
            self.t += seconds

    moving = Clock()
    monkeypatch.setattr(staff_accounts, "now", lambda: moving.t)
    return moving


def staff_row(app, username="alice") -> StaffUser:
    with app.app_context():
        row = db.session.scalars(db.select(StaffUser).where(StaffUser.username == username)).one()
        db.session.expunge_all()
        return row


def test_agent_without_totp_signs_in_with_password_and_sees_the_staff_home(app, client):
    make_staff(app, "alice", "agent")
    response = staff_sign_in(client, "alice")
    assert response.status_code == 303 and response.headers["Location"] == "/staff"
    page = client.get("/staff")
    assert page.status_code == 200 and "alice" in page.text and "Paid, data not added yet" in page.text


def test_wrong_password_is_refused_and_counted_without_saying_which_part_was_wrong(app, client):
    make_staff(app, "alice", "agent")
    response = staff_sign_in(client, "alice", password="wrong password here")
    assert response.status_code == 422 and "Wrong username or password" in response.text
    unknown = staff_sign_in(client, "nobody", password="wrong password here")
    assert unknown.status_code == 422 and "Wrong username or password" in unknown.text
    assert to_sign_in(client.get("/staff"))
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(StaffLoginAttempt.id))) == 2


def test_supervisor_must_enrol_totp_with_a_qr_code_then_a_wrong_code_is_refused_and_a_right_one_signs_in(
    app, client, clock
):
    make_staff(app, "sam", "supervisor", totp=False)
    response = post(client, "/staff/login", "/staff/login", username="sam", password=PASSWORD)
    assert response.status_code == 303 and response.headers["Location"].startswith("/staff/login/code")
    page = client.get("/staff/login/code")
    assert "<svg" in page.text and "Set up two-step sign-in" in page.text
    secret = staff_row(app, "sam").totp_secret
    assert secret and secret in page.text  # typed by hand when the camera cannot scan
    assert to_sign_in(client.get("/staff"))  # the password alone opens nothing
    wrong = post(
        client, "/staff/login/code", "/staff/login/code", code="000000" if code_now(secret) != "000000" else "111111"
    )
    assert wrong.status_code == 422 and "not right" in wrong.text
    assert not staff_row(app, "sam").totp_enabled
    right = post(client, "/staff/login/code", "/staff/login/code", code=code_now(secret))
    assert right.status_code == 303
    assert staff_row(app, "sam").totp_enabled
    assert client.get("/staff").status_code == 200


def test_a_totp_code_is_accepted_once_only(app, client, clock):
    secret = make_staff(app, "adam", "admin")
    assert staff_sign_in(client, "adam", secret).status_code == 303
    client.post("/staff/logout", data={"csrf_token": csrf_token(client.get("/staff").text)})
    assert to_sign_in(client.get("/staff"))
    # Same 30-second step, same code: someone who saw it over the shoulder cannot use it.
    again = staff_sign_in(client, "adam", secret)
    assert again.status_code == 422 and "already used" in again.text
    assert to_sign_in(client.get("/staff"))
    clock.move(30)
    assert staff_sign_in(client, "adam", secret).status_code == 303


def test_an_earlier_code_is_refused_after_a_later_one_was_used(app, client, clock):
    secret = make_staff(app, "adam", "admin")
    earlier = code_now(secret)
    clock.move(30)
    assert staff_sign_in(client, "adam", secret).status_code == 303
    client.post("/staff/logout", data={"csrf_token": csrf_token(client.get("/staff").text)})
    post(client, "/staff/login", "/staff/login", username="adam", password=PASSWORD)
    replay = post(client, "/staff/login/code", "/staff/login/code", code=earlier)
    assert replay.status_code == 422


def test_staff_session_ends_after_30_minutes_idle_and_a_post_then_changes_nothing(app, client, clock):
    make_staff(app, "alice", "agent")
    number = paid_order_number(app)
    staff_sign_in(client, "alice")
    token = csrf_token(client.get(f"/staff/orders/{number}").text)
    clock.move(29 * 60)
    assert client.get("/staff").status_code == 200  # still in use: the idle time starts again
    clock.move(31 * 60)
    response = client.post(f"/staff/orders/{number}/notes", data={"csrf_token": token, "body": "late note"})
    assert to_sign_in(response)
    page = client.get(response.headers["Location"])
    assert "Your staff session has ended" in page.text
    from models import StaffNote

    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(StaffNote.id))) == 0


def test_staff_session_ends_12_hours_after_sign_in_even_when_in_use(app, client, clock):
    make_staff(app, "alice", "agent")
    staff_sign_in(client, "alice")
    for _ in range(12 * 4):  # every 15 minutes for 12 hours
        clock.move(15 * 60)
        client.get("/staff")
    clock.move(16 * 60)
    assert to_sign_in(client.get("/staff"))


def test_disabling_an_account_ends_its_open_session_and_its_old_cookie_opens_nothing(app, client, clock):
    make_staff(app, "alice", "agent")
    number = paid_order_number(app)
    staff_sign_in(client, "alice")
    assert client.get("/staff").status_code == 200
    token = csrf_token(client.get(f"/staff/orders/{number}").text)
    old_cookie = client.get_cookie("session").value
    result = app.test_cli_runner().invoke(args=["staff", "disable", "alice"])
    assert result.exit_code == 0, result.output
    assert to_sign_in(client.get("/staff"))
    other = app.test_client()
    other.set_cookie("session", old_cookie)
    assert to_sign_in(other.get("/staff"))
    other.set_cookie("session", old_cookie)
    note = other.post(f"/staff/orders/{number}/notes", data={"csrf_token": token, "body": "after disable"})
    assert to_sign_in(note)
    with app.app_context():
        from models import AuditEntry, StaffNote

        assert db.session.scalar(db.select(db.func.count(StaffNote.id))) == 0
        assert db.session.scalar(db.select(db.func.count(AuditEntry.id)).where(AuditEntry.order_id.is_not(None))) == 0
    again = staff_sign_in(app.test_client(), "alice")
    assert again.status_code == 422  # a disabled account cannot sign in again


def test_signing_out_ends_every_copy_of_the_staff_session(app, client):
    make_staff(app, "alice", "agent")
    staff_sign_in(client, "alice")
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    assert copy.get("/staff").status_code == 200
    client.post("/staff/logout", data={"csrf_token": csrf_token(client.get("/staff").text)})
    assert to_sign_in(copy.get("/staff"))


def test_a_traveller_session_never_opens_a_staff_page(app, client, sign_in, plans):
    make_staff(app, "alice", "agent")
    sign_in()
    assert client.get("/cards").status_code == 200
    for url in ("/staff", "/staff/audit", "/staff/security"):
        assert to_sign_in(client.get(url)), url


def test_sign_in_is_limited_per_username_and_per_address(app_with):
    app = app_with(STAFF_LOGIN_USER_LIMIT="3 per hour", STAFF_LOGIN_IP_LIMIT="5 per hour")
    make_staff(app, "alice", "agent")
    client = app.test_client()
    for _ in range(3):
        assert staff_sign_in(client, "alice", password="not the password").status_code == 422
    blocked = staff_sign_in(client, "alice")  # even the right password, now
    assert blocked.status_code == 429 and "Too many failed sign-ins" in blocked.text
    assert to_sign_in(client.get("/staff"))
    for name in ("bob", "carol"):
        assert staff_sign_in(client, name, password="guess guess guess").status_code == 422
    by_address = staff_sign_in(client, "dave", password="guess guess guess")
    assert by_address.status_code == 429


def test_a_bad_limit_setting_stops_the_start(app_with):
    from config import ConfigError

    with pytest.raises(ConfigError):
        app_with(STAFF_LOGIN_USER_LIMIT="often")


def test_cli_creates_the_first_admin_from_stdin_and_refuses_a_short_password(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["staff", "create", "Root", "--role", "admin", "--password-stdin"], input=PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    row = staff_row(app, "root")
    assert row.role == "admin" and row.password_hash.startswith("$argon2") and PASSWORD not in row.password_hash
    short = runner.invoke(args=["staff", "create", "bob", "--password-stdin"], input="short\n")
    assert short.exit_code != 0 and "password" in short.output
    prompted = runner.invoke(args=["staff", "create", "pat", "--role", "supervisor"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0 and "TOTP" in prompted.output and staff_row(app, "pat").role == "supervisor"
    twice = runner.invoke(args=["staff", "create", "root", "--password-stdin"], input=PASSWORD + "\n")
    assert twice.exit_code != 0 and "already exists" in twice.output


def test_an_agent_can_turn_on_totp_and_is_then_asked_for_a_code(app, client, clock):
    make_staff(app, "alice", "agent")
    staff_sign_in(client, "alice")
    page = client.get("/staff/security")
    assert "<svg" in page.text
    secret = staff_row(app).totp_secret
    on = post(client, "/staff/security", "/staff/security", code=pyotp.TOTP(secret).at(int(clock.t)))
    assert on.status_code == 303 and staff_row(app).totp_enabled
    client.post("/staff/logout", data={"csrf_token": csrf_token(client.get("/staff").text)})
    clock.move(30)
    step_one = post(client, "/staff/login", "/staff/login", username="alice", password=PASSWORD)
    assert step_one.headers["Location"].startswith("/staff/login/code")
    assert staff_sign_in(client, "alice", secret).status_code == 303


def test_signing_in_and_out_is_in_the_audit_log(app, client, clock):
    from staff_support import audit_rows

    secret = make_staff(app, "sam", "supervisor", totp=False)
    post(client, "/staff/login", "/staff/login", username="sam", password=PASSWORD)
    client.get("/staff/login/code")
    post(client, "/staff/login/code", "/staff/login/code", code=code_now(staff_row(app, "sam").totp_secret))
    client.post("/staff/logout", data={"csrf_token": csrf_token(client.get("/staff").text)})
    assert secret is None
    rows = audit_rows(app, "sign_in") + audit_rows(app, "sign_out")
    assert [(row.username, row.action) for row in rows] == [("sam", "sign_in"), ("sam", "sign_out")]
    assert '"enrolled_now": true' in rows[0].after
