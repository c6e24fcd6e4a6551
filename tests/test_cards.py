"""Binding cards: number + ICCID, nicknames, unbinding; one account per card number."""

import pytest
from conftest import csrf_token, post_form
from sqlalchemy import select

from extensions import db
from models import Card
from rules import iccid

ICCID = iccid.with_check_digit("898520012345678901")
OTHER_ICCID = iccid.with_check_digit("898520099999999999")


def bind(client, number="6123 4567", iccid_text=ICCID, nickname=""):
    return post_form(client, "/cards", number=number, iccid=iccid_text, nickname=nickname)


def cards_of(app):
    with app.app_context():
        return [(c.msisdn, c.iccid, c.account_id, c.nickname) for c in db.session.scalars(select(Card))]


def test_cards_need_a_signed_in_traveller(client):
    response = client.get("/cards")
    assert response.status_code == 302 and "/login?next=%2Fcards" in response.headers["Location"]


def test_bind_list_rename_and_unbind_a_card(app, client, sign_in):
    sign_in()
    response = bind(client, nickname="Mum's card")
    assert response.status_code == 303
    page = client.get("/cards")
    assert "Mum&#39;s card" in page.text and "+85261234567" in page.text and ICCID[-4:] in page.text
    with app.app_context():
        card = db.session.scalars(select(Card)).one()
    assert post_form(client, f"/cards/{card.id}", nickname="  Dad's   phone ").status_code == 303
    assert cards_of(app)[0][3] == "Dad's phone"
    assert post_form(client, f"/cards/{card.id}", action=f"/cards/{card.id}/unbind").status_code == 303
    assert cards_of(app) == [("+85261234567", ICCID, None, None)]  # the card row stays for its orders


@pytest.mark.parametrize(
    "number, iccid_text, says",
    [
        ("123", ICCID, "not a valid mobile number"),
        ("6123 4567", "8985", "19 or 20 digits"),
        ("6123 4567", ICCID[:-1] + str((int(ICCID[-1]) + 3) % 10), "check digit"),
        ("6123 4567", "89852001234567890AB", "digits only"),
    ],
)
def test_each_kind_of_mistake_gets_its_own_message_and_binds_nothing(app, client, sign_in, number, iccid_text, says):
    sign_in()
    page = bind(client, number, iccid_text)
    assert page.status_code == 422 and says in page.text and 'aria-invalid="true"' in page.text
    assert cards_of(app) == []


def test_a_card_number_is_bound_to_one_account_at_a_time(app, client, sign_in):
    sign_in("+85291234567")
    bind(client)
    other = app.test_client()
    sign_in("+85298765432", the_client=other)
    page = bind(other)
    assert page.status_code == 422 and "bound to another account" in page.text
    with app.app_context():
        card = db.session.scalars(select(Card)).one()
        assert card.account.phone == "+85291234567"


def test_the_iccid_must_match_the_number_once_known(app, client, sign_in):
    sign_in()
    bind(client)
    with app.app_context():
        card = db.session.scalars(select(Card)).one()
    post_form(client, f"/cards/{card.id}", action=f"/cards/{card.id}/unbind")
    page = bind(client, iccid_text=OTHER_ICCID)
    assert page.status_code == 422 and "does not match" in page.text


def test_binding_the_same_card_twice_says_so(app, client, sign_in):
    sign_in()
    bind(client)
    page = bind(client)
    assert page.status_code == 422 and "already in your cards" in page.text
    assert len(cards_of(app)) == 1


def test_someone_elses_card_is_not_found(app, client, sign_in):
    sign_in("+85291234567")
    bind(client)
    with app.app_context():
        card_id = db.session.scalars(select(Card)).one().id
    other = app.test_client()
    sign_in("+85298765432", the_client=other)
    assert other.get(f"/cards/{card_id}").status_code == 404
    token = csrf_token(other.get("/cards").text)
    assert other.post(f"/cards/{card_id}/unbind", data={"csrf_token": token}).status_code == 404
    assert cards_of(app)[0][2] is not None


def test_a_nickname_over_forty_characters_is_refused(app, client, sign_in):
    sign_in()
    page = bind(client, nickname="x" * 41)
    assert page.status_code == 422 and cards_of(app) == []


def test_adding_a_card_during_checkout_goes_back_to_the_checkout(app, client, sign_in, plans):
    sign_in()
    to_cards = client.get("/checkout?plan=gba-7d")
    assert to_cards.status_code == 302 and to_cards.headers["Location"].startswith("/cards?next=")
    page = client.get(to_cards.headers["Location"])
    response = client.post(
        "/cards",
        data={
            "csrf_token": csrf_token(page.text),
            "number": "6123 4567",
            "iccid": ICCID,
            "next": "/checkout?plan=gba-7d",
        },
    )
    assert response.headers["Location"] == "/checkout?plan=gba-7d"
    assert "Check the details" in client.get(response.headers["Location"]).text


def test_an_off_site_next_after_adding_a_card_is_ignored(app, client, sign_in):
    sign_in()
    page = client.get("/cards")
    response = client.post(
        "/cards",
        data={
            "csrf_token": csrf_token(page.text),
            "number": "6123 4567",
            "iccid": ICCID,
            "next": "https://evil.example/",
        },
    )
    assert response.headers["Location"] == "/cards"
