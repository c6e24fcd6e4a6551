"""Limits counted in the database stay exact when the requests come all at once (threads), on
SQLite and PostgreSQL: staff sign-ins (password and TOTP) and unsigned payment notifications."""

import threading

from conftest import csrf_token
from sqlalchemy import func, select
from staff_support import PASSWORD, make_staff, post

from extensions import db
from models import PaymentNotification, StaffLoginAttempt
from rules.staff import staff_accounts

AT_ONCE = 40


def all_at_once(requests) -> list:
    """Run each `request()` in its own thread, all released at the same moment; their answers."""
    start = threading.Barrier(len(requests))
    answers: list = [None] * len(requests)

    def run(index: int) -> None:
        start.wait(timeout=20)
        answers[index] = requests[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(model.id))) or 0


class Counting:
    """Counts the calls of one function while the test runs (how many passwords or codes were checked)."""

    def __init__(self, monkeypatch, owner, name: str):
        self.calls, real, lock = 0, getattr(owner, name), threading.Lock()

        def counted(*args, **kwargs):
            with lock:
                self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)


class CountingHasher:
    """The real password hasher, counting its password checks."""

    def __init__(self, monkeypatch):
        self.real, self.checked = staff_accounts._hasher, Counting(monkeypatch, self, "_verify")
        monkeypatch.setattr(staff_accounts, "_hasher", self)

    def _verify(self, *args):
        return self.real.verify(*args)

    def verify(self, *args):
        return self._verify(*args)

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_forty_staff_sign_ins_at_once_check_at_most_ten_passwords(app_with, monkeypatch):
    app = app_with(STAFF_LOGIN_USER_LIMIT="10 per hour", STAFF_LOGIN_IP_LIMIT="1000 per hour", RATELIMIT_ENABLED=False)
    make_staff(app, "alice", "agent")
    checked = CountingHasher(monkeypatch).checked
    clients = [app.test_client() for _ in range(AT_ONCE)]
    forms = [(client, csrf_token(client.get("/staff/login").text)) for client in clients]

    def sign_in(client, token):
        data = {"csrf_token": token, "username": "alice", "password": "not the password at all"}
        return lambda: client.post("/staff/login", data=data).status_code

    statuses = all_at_once([sign_in(client, token) for client, token in forms])
    assert checked.calls <= 10 and count(app, StaffLoginAttempt) == 10
    assert sorted(statuses) == [422] * 10 + [429] * 30, statuses
    assert (
        post(app.test_client(), "/staff/login", "/staff/login", username="alice", password=PASSWORD).status_code == 429
    )


def test_forty_totp_codes_at_once_are_compared_at_most_ten_times(app_with, monkeypatch):
    app = app_with(STAFF_LOGIN_USER_LIMIT="10 per hour", STAFF_LOGIN_IP_LIMIT="1000 per hour", RATELIMIT_ENABLED=False)
    make_staff(app, "bob", "supervisor")
    clients = []
    for _ in range(AT_ONCE):  # each has passed the password step and waits at the code step
        client = app.test_client()
        assert post(client, "/staff/login", "/staff/login", username="bob", password=PASSWORD).status_code == 303
        clients.append((client, csrf_token(client.get("/staff/login/code").text)))
    assert count(app, StaffLoginAttempt) == 0  # a right password does not count as a failure
    compared = Counting(monkeypatch, staff_accounts, "_matching_step")

    def guess(client, token):
        return lambda: client.post("/staff/login/code", data={"csrf_token": token, "code": "000000"}).status_code

    statuses = all_at_once([guess(client, token) for client, token in clients])
    assert compared.calls <= 10 and count(app, StaffLoginAttempt) == 10
    assert sorted(statuses) == [422] * 10 + [429] * 30, statuses


def test_forty_unsigned_notifications_at_once_keep_exactly_the_limit_of_rows(app_with):
    app = app_with(UNSIGNED_NOTIFICATIONS_PER_HOUR=20, RATELIMIT_ENABLED=False)
    clients = [app.test_client() for _ in range(AT_ONCE)]

    def notify(client):
        return lambda: (
            client.post("/payments/alipay/notify", data={"out_trade_no": "RR1", "sign": "forged"}).status_code
        )

    statuses = all_at_once([notify(client) for client in clients])
    with app.app_context():
        kept = list(db.session.scalars(select(PaymentNotification)))
    assert len(kept) == 20 and sum(row.repeats for row in kept) == 20
    assert sorted(statuses) == [400] * 20 + [429] * 20, statuses
