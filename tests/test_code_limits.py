"""Code limits counted in the database: exact across app servers ("workers"), set by the settings."""

import threading
from datetime import timedelta

import pytest
from conftest import code_from_sms, csrf_token, last_sms, post_form
from sqlalchemy import func, select

from extensions import db
from models import LoginCode
from rules.travellers import iccid, login_codes


def codes(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(LoginCode.id)))


def ask_in_parallel(apps, phones) -> list[int]:
    """One client per request, spread over `apps`, all posting /login at the same moment."""
    prepared = []
    for index, phone in enumerate(phones):
        client = apps[index % len(apps)].test_client()
        prepared.append((client, csrf_token(client.get("/login").text), phone))
    start = threading.Barrier(len(prepared))
    statuses = [None] * len(prepared)

    def ask(index: int) -> None:
        client, token, phone = prepared[index]
        start.wait(timeout=10)
        statuses[index] = client.post("/login", data={"csrf_token": token, "phone": phone}).status_code

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(prepared))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return statuses


@pytest.fixture
def no_cool_down(monkeypatch):
    monkeypatch.setattr(login_codes, "RESEND_AFTER", timedelta(0))


def workers(app_with, **settings) -> list:
    """Two app instances on one database, like two server processes. Flask-Limiter is off: its
    in-memory counts are per process (and shared between apps of one process), so only the
    database's counts are tested here."""
    return [app_with(RATELIMIT_ENABLED=False, **settings) for _ in range(2)]


def test_two_workers_together_send_no_more_codes_per_ip_than_the_limit(app_with):
    apps = workers(app_with, SIGNIN_IP_LIMIT="3 per hour")
    statuses = ask_in_parallel(apps, [f"6123 45{i:02d}" for i in range(10)])
    assert codes(apps[0]) == 3
    assert sorted(statuses) == [303] * 3 + [429] * 7


def test_two_workers_together_send_no_more_codes_per_number_than_the_limit(app_with, no_cool_down):
    apps = workers(app_with, SIGNIN_PHONE_LIMIT="2 per hour")
    statuses = ask_in_parallel(apps, ["6123 4567"] * 8)
    assert codes(apps[0]) == 2
    assert sorted(statuses) == [303] * 2 + [429] * 6


@pytest.mark.parametrize("limit, sent", [("1 per hour", 1), ("4 per hour", 4)])
def test_the_per_number_setting_sets_the_limit(app_with, no_cool_down, limit, sent):
    app = app_with(SIGNIN_PHONE_LIMIT=limit, RATELIMIT_ENABLED=False)
    client = app.test_client()
    statuses = [
        client.post(
            "/login", data={"csrf_token": csrf_token(client.get("/login").text), "phone": "6123 4567"}
        ).status_code
        for _ in range(6)
    ]
    assert statuses == [303] * sent + [429] * (6 - sent)
    assert codes(app) == sent


def test_two_workers_together_send_no_more_card_codes_per_number_than_the_limit(app_with, sign_in):
    apps = workers(app_with, SIGNIN_PHONE_LIMIT="2 per hour")
    clients = []
    for index in range(6):
        client = apps[index % 2].test_client()
        sign_in(f"+8529876000{index}", the_client=client)
        clients.append((client, csrf_token(client.get("/cards").text)))
    start = threading.Barrier(len(clients))
    statuses = [None] * len(clients)

    def ask(index: int) -> None:
        client, token = clients[index]
        start.wait(timeout=10)
        data = {"csrf_token": token, "number": "6123 4567", "iccid": iccid.with_check_digit("898520012345678901")}
        statuses[index] = client.post("/cards", data=data).status_code

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    with apps[0].app_context():
        sent = db.session.scalar(select(func.count(LoginCode.id)).where(LoginCode.purpose == login_codes.BIND_CARD))
    assert sent == 2 and sorted(statuses) == [303] * 2 + [429] * 4


def test_sign_in_and_card_codes_count_together_per_address(app_with, sign_in):
    app = app_with(SIGNIN_IP_LIMIT="3 per hour")
    client = app.test_client()
    sign_in("+85291234567", the_client=client)
    for number, sim in (("6123 4567", "898520012345678901"), ("6123 4568", "898520012345678902")):  # demo SIMs
        response = post_form(client, "/cards", number=number, iccid=iccid.with_check_digit(sim))
        assert response.status_code == 303
    page = post_form(client, "/cards", number="6123 4569", iccid=iccid.with_check_digit("898520066666666666"))
    assert page.status_code == 429 and "from this connection" in page.text
    assert codes(app) == 3


def test_a_limit_setting_that_cannot_be_read_stops_the_start(tmp_path):
    from config import ConfigError, load

    with pytest.raises(ConfigError, match="SIGNIN_PHONE_LIMIT"):
        load(str(tmp_path), {"SIGNIN_PHONE_LIMIT": "lots"})


def ask_for_a_code(app, phone: str, address: str):
    client = app.test_client()
    environ = {"REMOTE_ADDR": address}
    token = csrf_token(client.get("/login", environ_base=environ).text)
    return client, client.post("/login", data={"csrf_token": token, "phone": phone}, environ_base=environ)


def test_strangers_using_up_a_numbers_codes_never_lock_its_owner_out(app_with, no_cool_down):
    app = app_with(SIGNIN_PHONE_LIMIT="3 per hour", RATELIMIT_ENABLED=False)
    strangers = [ask_for_a_code(app, "9123 4567", f"198.51.100.{i % 2}")[1].status_code for i in range(10)]
    assert strangers == [303, 303] * 3 + [429] * 4  # each stranger's own address is held to the limit
    owner, answer = ask_for_a_code(app, "9123 4567", "203.0.113.9")
    assert answer.status_code == 303
    code = code_from_sms(last_sms(app, "+85291234567"))
    signed_in = owner.post(
        "/login/code",
        data={"csrf_token": csrf_token(owner.get("/login/code").text), "code": code},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert signed_in.status_code == 303


def test_a_strangers_request_does_not_make_the_owner_wait_for_the_cool_down(app_with):
    app = app_with(RATELIMIT_ENABLED=False)
    assert ask_for_a_code(app, "9123 4567", "198.51.100.1")[1].status_code == 303
    assert ask_for_a_code(app, "9123 4567", "203.0.113.9")[1].status_code == 303  # the owner, seconds later
    again = ask_for_a_code(app, "9123 4567", "198.51.100.1")[1]
    assert again.status_code != 303 and "A code was just sent" in again.text  # the stranger still waits


def test_a_strangers_later_request_does_not_void_the_code_the_owner_was_sent(app_with):
    app = app_with(RATELIMIT_ENABLED=False)
    owner, answer = ask_for_a_code(app, "9123 4567", "203.0.113.9")
    assert answer.status_code == 303
    owners_code = code_from_sms(last_sms(app, "+85291234567"))
    assert ask_for_a_code(app, "9123 4567", "198.51.100.1")[1].status_code == 303  # a stranger, a moment later
    signed_in = owner.post(
        "/login/code",
        data={"csrf_token": csrf_token(owner.get("/login/code").text), "code": owners_code},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert signed_in.status_code == 303
