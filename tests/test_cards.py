"""Binding cards: the signed-in number at once, any other number with the code texted to it;
nicknames, unbinding; nobody can block a card's owner."""

import re

import pytest
from conftest import bind_card, code_from_sms, csrf_token, last_sms, post_form
from sqlalchemy import func, select

from extensions import db
from models import Account, Card, SmsMessage
from rules.travellers import iccid

OWNER, STRANGER, CARD = "+85291234567", "+85298765432", "+85261234567"
ICCID = iccid.with_check_digit("898520012345678901")
OTHER_ICCID = iccid.with_check_digit("898520099999999999")
OWN_ICCID = iccid.with_check_digit("898520077777777777")  # a SIM for OWNER's own number, new to the carrier
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def ask(client, number="6123 4567", iccid_text=ICCID, nickname=""):
    """Only the form: for another number this texts a code and binds nothing yet."""
    return post_form(client, "/cards", number=number, iccid=iccid_text, nickname=nickname)


def cards_of(app):
    with app.app_context():
        return sorted(
            (c.msisdn, c.iccid, c.account.phone if c.account else None, c.nickname)
            for c in db.session.scalars(select(Card))
        )


def sms_to(app, phone):
    with app.app_context():
        return db.session.scalar(select(func.count(SmsMessage.id)).where(SmsMessage.to_phone == phone))


@pytest.fixture
def signed_in(app, sign_in):
    """A client signed in as `phone` (a new client each time)."""

    def signed_in(phone):
        client = app.test_client()
        sign_in(phone, the_client=client)
        return client

    return signed_in


def test_cards_need_a_signed_in_traveller(client):
    response = client.get("/cards")
    assert response.status_code == 302 and "/login?next=%2Fcards" in response.headers["Location"]


def test_bind_list_rename_and_unbind_a_card(app, client, sign_in):
    sign_in(OWNER)
    response = bind_card(app, client, nickname="Mum's card")
    assert response.status_code == 303
    page = client.get("/cards")
    assert "Mum&#39;s card" in page.text and CARD in page.text and ICCID[-4:] in page.text
    with app.app_context():
        card = db.session.scalars(select(Card)).one()
    assert post_form(client, f"/cards/{card.id}", nickname="  Dad's   phone ").status_code == 303
    assert cards_of(app)[0][3] == "Dad's phone"
    assert post_form(client, f"/cards/{card.id}", action=f"/cards/{card.id}/unbind").status_code == 303
    assert cards_of(app) == [(CARD, ICCID, None, None)]  # the card row stays for its orders


def test_the_signed_in_number_binds_without_a_second_code(app, client, sign_in):
    sign_in(OWNER)
    response = ask(client, number="9123 4567", iccid_text=OWN_ICCID)
    assert response.status_code == 303 and response.headers["Location"] == "/cards"
    assert cards_of(app) == [(OWNER, OWN_ICCID, OWNER, None)]
    assert sms_to(app, OWNER) == 1  # the sign-in code only


def test_another_number_binds_only_with_the_code_texted_to_it(app, client, sign_in):
    sign_in(OWNER)
    response = ask(client, nickname="Mum")
    assert response.status_code == 303 and response.headers["Location"] == "/cards/confirm"
    assert cards_of(app) == []
    body = last_sms(app, CARD)
    assert "add this number to a RoamRenew account" in body
    page = client.get("/cards/confirm")
    # The card's number, whole (the person typed it), and plainly not their own.
    sent_to = 'We texted a code to the card you are adding, <span class="nowrap">+852 6123 4567</span>, not to your'
    assert sent_to in page.text
    right = code_from_sms(body)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    page = post_form(client, "/cards/confirm", code=wrong)
    assert page.status_code == 422 and "4 tries left" in page.text and cards_of(app) == []
    response = post_form(client, "/cards/confirm", code=right)
    assert response.status_code == 303 and response.headers["Location"] == "/cards"
    assert cards_of(app) == [(CARD, ICCID, OWNER, "Mum")]
    assert client.get("/cards/confirm").headers["Location"] == "/cards"  # nothing waits any more


def test_an_unproven_attempt_leaves_no_card_and_blocks_nobody(app, signed_in):
    stranger = signed_in(STRANGER)
    assert ask(stranger).headers["Location"] == "/cards/confirm"
    for guess in ("000000", "111111", "222222", "333333", "444444"):
        post_form(stranger, "/cards/confirm", code=guess)
    assert cards_of(app) == []
    owner = signed_in(OWNER)  # at once: the stranger's code, tries and cool-down are the stranger's
    assert bind_card(app, owner).status_code == 303
    assert cards_of(app) == [(CARD, ICCID, OWNER, None)]


@pytest.mark.parametrize("stranger_unbinds", [False, True])
def test_a_card_a_stranger_bound_with_a_made_up_iccid_goes_to_the_owner_who_proves_it(app, signed_in, stranger_unbinds):
    stranger = signed_in(STRANGER)
    with app.app_context():  # as a stranger could bind it before codes were asked for
        account = db.session.scalars(select(Account).where(Account.phone == STRANGER)).one()
        card = Card(msisdn=CARD, iccid=OTHER_ICCID, account_id=account.id)
        db.session.add(card)
        db.session.commit()
        card_id = card.id
    if stranger_unbinds:
        assert post_form(stranger, "/cards", action=f"/cards/{card_id}/unbind").status_code == 303
    owner = signed_in(OWNER)
    assert bind_card(app, owner, iccid_text=OTHER_ICCID).status_code == 303  # the ICCID the carrier has
    assert cards_of(app) == [(CARD, OTHER_ICCID, OWNER, None)]
    stranger.get("/cards")  # shows the flash message of the unbinding, if any
    assert CARD not in stranger.get("/cards").text


def test_a_card_bound_to_someone_else_moves_to_whoever_proves_the_number(app, signed_in):
    family = signed_in(STRANGER)
    assert bind_card(app, family).status_code == 303
    owner = signed_in(OWNER)
    assert bind_card(app, owner).status_code == 303
    assert cards_of(app) == [(CARD, ICCID, OWNER, None)]


def test_someone_who_knows_a_cards_iccid_cannot_bind_it_to_their_own_number(app, signed_in):
    owner = signed_in(OWNER)
    assert bind_card(app, owner, iccid_text=ICCID).status_code == 303
    stranger = signed_in(STRANGER)
    page = ask(stranger, number=STRANGER, iccid_text=ICCID)  # their own number (no code needed), her ICCID
    assert page.status_code == 422 and "This ICCID is not the one of the card with this number" in page.text
    assert cards_of(app) == [(CARD, ICCID, OWNER, None)]  # the real card keeps its ICCID


def test_a_number_and_an_iccid_of_two_sims_the_carrier_knows_are_refused_before_a_code_is_sent(app, signed_in):
    stranger = signed_in(STRANGER)
    page = ask(stranger, number="6123 4568", iccid_text=ICCID)  # two of the sandbox's demo SIMs
    assert page.status_code == 422 and 'aria-invalid="true"' in page.text
    assert cards_of(app) == [] and sms_to(app, "+85261234568") == 0


def test_a_card_is_refused_while_the_carrier_cannot_be_asked(app_with, sign_in):
    app = app_with(CARRIER_DOWN=True)
    client = app.test_client()
    sign_in(OWNER, the_client=client)
    page = ask(client, number="9123 4567", iccid_text=OWN_ICCID)
    assert page.status_code == 422 and "could not check the card with the carrier" in page.text
    assert cards_of(app) == []


def confirm_page(client, number, iccid_text):
    response = ask(client, number=number, iccid_text=iccid_text)
    page = client.get("/cards/confirm")
    masked = re.sub(r"\+852 \d{4} \d{4}", "NUMBER", page.text)
    without_tokens = re.sub(r'value="[^"]+"|"X-CSRFToken": "[^"]+"', "", masked)
    return response.status_code, response.headers.get("Location"), without_tokens


def test_the_answer_is_the_same_whether_or_not_the_number_or_iccid_is_someone_elses(app, signed_in):
    fresh = confirm_page(signed_in("+85298760001"), "6123 4567", ICCID)
    owner = signed_in(OWNER)
    assert bind_card(app, owner).status_code == 303
    same_card = confirm_page(signed_in("+85298760003"), "6123 4567", ICCID)
    assert fresh == same_card
    assert (
        fresh[:2] == (303, "/cards/confirm")
        and 'the card you are adding, <span class="nowrap">NUMBER</span>' in fresh[2]
    )
    assert cards_of(app) == [(CARD, ICCID, OWNER, None)]


def test_an_iccid_in_other_digits_is_refused_and_full_width_digits_are_the_same_iccid(app, client, sign_in):
    sign_in(OWNER)
    arabic = "89" + ICCID[2:].translate(ARABIC_INDIC)
    page = ask(client, iccid_text=arabic)
    assert page.status_code == 422 and "digits 0-9" in page.text
    assert ask(client, iccid_text=ICCID.translate(ARABIC_INDIC)).status_code == 422
    assert cards_of(app) == [] and sms_to(app, CARD) == 0
    assert bind_card(app, client).status_code == 303
    assert ask(client, number="9123 4567", iccid_text=ICCID.translate(FULL_WIDTH)).status_code == 422  # the same ICCID
    assert cards_of(app) == [(CARD, ICCID, OWNER, None)]  # one ICCID, one card


def test_a_number_in_other_digits_is_refused_and_full_width_digits_are_read(app, client, sign_in):
    sign_in(OWNER)
    page = ask(client, number="6123 4567".translate(ARABIC_INDIC))
    assert page.status_code == 422 and "digits 0-9" in page.text
    assert ask(client, number="9123 4567".translate(FULL_WIDTH), iccid_text=OWN_ICCID).headers["Location"] == "/cards"
    assert cards_of(app) == [(OWNER, OWN_ICCID, OWNER, None)]


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
    page = ask(client, number, iccid_text)
    assert page.status_code == 422 and says in page.text and 'aria-invalid="true"' in page.text
    assert cards_of(app) == [] and sms_to(app, CARD) == 0


def test_binding_the_same_card_twice_says_so_without_a_code(app, client, sign_in):
    sign_in()
    bind_card(app, client)
    page = ask(client)
    assert page.status_code == 422 and "already in your cards" in page.text
    assert len(cards_of(app)) == 1 and sms_to(app, CARD) == 1


def test_the_sandboxs_demo_sim_binds_with_its_own_iccid_only(app, client, sign_in):
    sign_in()
    assert bind_card(app, client, iccid_text=OTHER_ICCID).status_code == 422
    assert cards_of(app) == [] and sms_to(app, CARD) == 0
    assert bind_card(app, client, iccid_text=ICCID).status_code == 303
    assert cards_of(app) == [(CARD, ICCID, OWNER, None)]


def test_card_codes_share_the_per_number_limit(app_with, sign_in):
    app = app_with(SIGNIN_PHONE_LIMIT="1 per hour")
    first, second = app.test_client(), app.test_client()
    sign_in(OWNER, the_client=first)
    sign_in(STRANGER, the_client=second)
    assert ask(first).headers["Location"] == "/cards/confirm"
    page = ask(second)
    assert page.status_code == 429 and "Too many codes for this number" in page.text


def test_someone_elses_card_is_not_found(app, signed_in):
    owner = signed_in(OWNER)
    bind_card(app, owner)
    with app.app_context():
        card_id = db.session.scalars(select(Card)).one().id
    other = signed_in(STRANGER)
    assert other.get(f"/cards/{card_id}").status_code == 404
    token = csrf_token(other.get("/cards").text)
    assert other.post(f"/cards/{card_id}/unbind", data={"csrf_token": token}).status_code == 404
    assert cards_of(app)[0][2] == OWNER


def test_a_nickname_over_forty_characters_is_refused(app, client, sign_in):
    sign_in()
    page = ask(client, nickname="x" * 41)
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
    assert response.headers["Location"] == "/cards/confirm"
    response = post_form(client, "/cards/confirm", code=code_from_sms(last_sms(app, CARD)))
    assert response.headers["Location"] == "/checkout?plan=gba-7d"
    assert "Check the details" in client.get(response.headers["Location"]).text


def test_an_off_site_next_after_adding_a_card_is_ignored(app, client, sign_in):
    sign_in()
    page = client.get("/cards")
    response = client.post(
        "/cards",
        data={
            "csrf_token": csrf_token(page.text),
            "number": "9123 4567",
            "iccid": OWN_ICCID,
            "next": "https://evil.example/",
        },
    )
    assert response.headers["Location"] == "/cards"


def test_without_a_carrier_api_the_pairs_on_record_decide_and_an_iccid_never_moves(app_with, sign_in):
    """CARRIER=manual has no SIM lookup: a number on record keeps its ICCID, a new number takes a new
    ICCID, and an ICCID on record for another number is refused."""
    app = app_with(CARRIER="manual")
    owner, stranger = app.test_client(), app.test_client()
    sign_in(OWNER, the_client=owner)
    assert ask(owner, number="9123 4567", iccid_text=OWN_ICCID).status_code == 303
    sign_in(STRANGER, the_client=stranger)
    page = ask(stranger, number="9876 5432", iccid_text=OWN_ICCID)
    assert page.status_code == 422 and "This ICCID is not the one of the card with this number" in page.text
    assert cards_of(app) == [(OWNER, OWN_ICCID, OWNER, None)]
