"""Guessing a sign-in code in parallel: every guess counts, at most five are compared, on both databases."""

import threading

from conftest import code_from_sms, csrf_token, last_sms, post_form
from sqlalchemy import select

from extensions import db
from models import Account, LoginCode

PHONE = "+85291234567"
GUESSERS = 20


def guess_in_parallel(app, code: str, guessers: int = GUESSERS) -> list:
    """`guessers` clients, each with its own session for PHONE, post `code` at the same moment."""
    clients = []
    for _ in range(guessers):
        client = app.test_client()
        with client.session_transaction() as session:
            session["login_phone"] = PHONE
        clients.append((client, csrf_token(client.get("/login/code").text)))
    start = threading.Barrier(guessers)
    answers = [None] * guessers

    def guess(index: int) -> None:
        client, token = clients[index]
        start.wait(timeout=10)
        response = client.post("/login/code", data={"csrf_token": token, "code": code})
        answers[index] = (response.status_code, response.text)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(guessers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def test_twenty_parallel_wrong_guesses_are_compared_at_most_five_times_and_lock_the_code(app, client):
    assert post_form(client, "/login", phone=PHONE).status_code == 303
    right = code_from_sms(last_sms(app, PHONE))
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    answers = guess_in_parallel(app, wrong)
    assert all(status == 422 for status, _ in answers), [status for status, _ in answers]
    compared = sum("not right" in text for _, text in answers)
    assert compared <= 5
    with app.app_context():
        assert db.session.scalars(select(LoginCode)).one().attempts == 5
    page = post_form(client, "/login/code", code=right)
    assert page.status_code == 422 and "Too many wrong tries" in page.text
    with app.app_context():
        assert db.session.scalar(select(Account.id)) is None


def test_the_right_code_sent_many_times_at_once_signs_in_once(app, client):
    assert post_form(client, "/login", phone=PHONE).status_code == 303
    right = code_from_sms(last_sms(app, PHONE))
    answers = guess_in_parallel(app, right, guessers=8)
    assert sorted(status for status, _ in answers) == [303] + [422] * 7
