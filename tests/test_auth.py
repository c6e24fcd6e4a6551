"""Signing in with a mobile number and a one-time SMS code."""

from datetime import timedelta

import pytest
from conftest import code_from_sms, csrf_token, last_sms, post_form
from sqlalchemy import func, select

from extensions import db
from models import Account, LoginCode, SmsMessage

PHONE = "+85291234567"


def count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def ask_code(client, phone="9123 4567"):
    return post_form(client, "/login", phone=phone)


def test_a_new_number_registers_on_its_first_sign_in(app, client, sign_in):
    sign_in(PHONE)
    assert count(app, Account) == 1
    page = client.get("/cards")
    assert page.status_code == 200 and "My cards" in page.text


def test_the_code_is_texted_hashed_and_never_stored_in_clear(app, client):
    assert ask_code(client).headers["Location"].endswith("/login/code")
    code = code_from_sms(last_sms(app, PHONE))
    with app.app_context():
        stored = db.session.scalars(select(LoginCode)).one()
        assert code not in stored.code_hash and len(stored.code_hash) == 64


def test_sign_in_rotates_the_session_and_the_csrf_token(app, client):
    ask_code(client)
    before = csrf_token(client.get("/login/code").text)
    post_form(client, "/login/code", code=code_from_sms(last_sms(app, PHONE)))
    after = csrf_token(client.get("/cards").text)
    assert before != after


def test_a_wrong_code_says_how_many_tries_are_left_and_five_wrong_tries_lock_the_code(app, client):
    ask_code(client)
    right = code_from_sms(last_sms(app, PHONE))
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    for left in ("4 tries left", "3 tries left", "2 tries left", "1 try left", "that was the last try"):
        page = post_form(client, "/login/code", code=wrong)
        assert page.status_code == 422 and left in page.text
    assert "Too many wrong tries" in post_form(client, "/login/code", code=right).text
    assert count(app, Account) == 0


def test_an_expired_code_is_refused(app, client):
    ask_code(client)
    with app.app_context():
        stored = db.session.scalars(select(LoginCode)).one()
        stored.expires_at -= timedelta(minutes=6)
        db.session.commit()
    page = post_form(client, "/login/code", code=code_from_sms(last_sms(app, PHONE)))
    assert page.status_code == 422 and "expired" in page.text
    assert count(app, Account) == 0


def test_a_code_works_once(app, client):
    ask_code(client)
    code = code_from_sms(last_sms(app, PHONE))
    assert post_form(client, "/login/code", code=code).status_code == 303
    post_form(client, "/logout", action="/logout")
    other = app.test_client()
    with other.session_transaction() as session:
        session["login_phone"] = PHONE
    assert "Ask for a code first" in post_form(other, "/login/code", code=code).text


def test_resend_waits_for_the_cool_down(app, client):
    ask_code(client)
    page = client.post(
        "/login/resend", data={"csrf_token": csrf_token(client.get("/login/code").text)}, follow_redirects=True
    )
    assert "You can ask for another in" in page.text
    assert count(app, SmsMessage) == 1


@pytest.mark.parametrize(
    "typed, says",
    [
        ("12345", "not a valid mobile number"),
        ("+1 415 555 0123", "Hong Kong (+852) and mainland China (+86)"),
        ("", "Enter a mobile number"),
        ("5555 1234", "This number is not in use in Hong Kong"),
    ],
)
def test_a_bad_number_gets_a_clear_message_and_no_code(app, client, typed, says):
    page = ask_code(client, typed)
    assert page.status_code == 422 and says in page.text
    assert count(app, LoginCode) == 0 and count(app, SmsMessage) == 0


def test_a_hong_kong_number_typed_with_852_but_no_plus_signs_in(app, client):
    assert ask_code(client, "85291234567").status_code == 303
    assert count(app, SmsMessage) == 1
    with app.app_context():
        assert db.session.scalars(db.select(SmsMessage.to_phone)).one() == "+85291234567"


def age_codes(app, seconds: int) -> None:
    with app.app_context():
        for stored in db.session.scalars(select(LoginCode)):
            stored.created_at -= timedelta(seconds=seconds)
        db.session.commit()


def test_sending_codes_is_rate_limited_per_number(app_with):
    app = app_with(SIGNIN_PHONE_LIMIT="2 per hour")
    client = app.test_client()
    statuses = [ask_code(client, "6123 4567").status_code]
    statuses.append(ask_code(client, "6123 4567").status_code)  # within the resend cool-down
    for _ in range(2):
        age_codes(app, 61)
        statuses.append(ask_code(client, "6123 4567").status_code)
    assert statuses == [303, 422, 303, 429]
    assert count(app, LoginCode) == 2
    page = ask_code(client, "6123 4567")
    assert "Too many codes for this number" in page.text
    age_codes(app, 3600)
    assert ask_code(client, "6123 4567").status_code == 303  # an hour later


def test_sending_codes_is_rate_limited_per_ip(app_with):
    app = app_with(SIGNIN_IP_LIMIT="2 per hour")
    client = app.test_client()
    statuses = [ask_code(client, f"6123 456{i}").status_code for i in range(3)]
    assert statuses == [303, 303, 429]
    assert count(app, LoginCode) == 2


def test_bursts_are_cut_short_per_app_server(app_with):
    app = app_with(SIGNIN_BURST_LIMIT="2 per minute")
    client = app.test_client()
    statuses = [ask_code(client, f"6123 456{i}").status_code for i in range(3)]
    assert statuses == [303, 303, 429]


@pytest.mark.parametrize(
    "proxies, forwarded, stored", [(0, "203.0.113.7", "127.0.0.1"), (1, "203.0.113.7", "203.0.113.7")]
)
def test_the_client_address_comes_from_trusted_proxies_only(app_with, proxies, forwarded, stored):
    app = app_with(TRUSTED_PROXY_COUNT=proxies)
    client = app.test_client()
    page = client.get("/login")
    client.post(
        "/login",
        data={"csrf_token": csrf_token(page.text), "phone": PHONE},
        headers={"X-Forwarded-For": forwarded},
    )
    with app.app_context():
        assert db.session.scalars(select(LoginCode.ip)).one() == stored


def test_codes_typed_with_full_width_digits_or_spaces_are_read(app, client):
    ask_code(client)
    code = code_from_sms(last_sms(app, PHONE))
    full_width = code[:3].translate(str.maketrans("0123456789", "０１２３４５６７８９")) + " " + code[3:]
    assert post_form(client, "/login/code", code=full_width).status_code == 303


def test_a_code_in_other_digits_is_refused_without_using_a_try(app, client):
    ask_code(client)
    code = code_from_sms(last_sms(app, PHONE))
    arabic_indic = code.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    page = post_form(client, "/login/code", code=arabic_indic)
    assert page.status_code == 422 and "6 digits" in page.text
    with app.app_context():
        assert db.session.scalars(select(LoginCode)).one().attempts == 0


@pytest.mark.parametrize(
    "target, lands",
    [
        ("/plans/hk-1d", "/plans/hk-1d"),
        ("https://evil.example/phish", "/account"),
        ("//evil.example/", "/account"),
        ("/\\evil.example", "/account"),
    ],
)
def test_next_redirects_stay_on_the_site(app, client, target, lands):
    page = client.get("/login", query_string={"next": target})
    client.post("/login", data={"csrf_token": csrf_token(page.text), "phone": PHONE, "next": target})
    response = post_form(client, "/login/code", code=code_from_sms(last_sms(app, PHONE)))
    assert response.headers["Location"] == lands


def test_sign_out_ends_every_copy_of_the_session(app, client, sign_in):
    sign_in(PHONE)
    copied = app.test_client()
    copied.set_cookie("session", client.get_cookie("session").value)
    assert copied.get("/cards").status_code == 200
    post_form(client, "/cards", action="/logout")
    assert client.get("/cards").status_code == 302
    assert copied.get("/cards").status_code == 302


def test_an_htmx_sign_in_reloads_the_whole_page_for_its_new_csrf_token(app, client):
    ask_code(client)
    page = client.get("/login/code")
    response = client.post(
        "/login/code",
        headers={"HX-Request": "true"},
        data={"csrf_token": csrf_token(page.text), "code": code_from_sms(last_sms(app, PHONE))},
    )
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/account"
