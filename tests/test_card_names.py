"""A card is named to its owner by nickname and whole number ("Mum +852 6123 4567"); masked where others see it."""

import re

from conftest import bind_card
from sqlalchemy import update
from staff_support import paid_order_number

from extensions import db
from models import Card, Order
from rules.ordering import guest_topup
from rules.travellers import iccid

ME = "+85291234567"


def test_my_orders_status_and_receipt_tell_two_cards_apart_by_nickname_and_whole_number(app, client, sign_in, plans):
    sign_in(ME)
    own_sim = iccid.with_check_digit("898520012345678910")  # a SIM the carrier knows by no other number
    assert bind_card(app, client, number=ME, iccid_text=own_sim, nickname="My phone").status_code == 303
    assert bind_card(app, client, number="6123 4567", nickname="Mum").status_code == 303  # its demo SIM's ICCID
    mine = paid_order_number(app, phone=ME, msisdn=ME, state="fulfilled")
    mums = paid_order_number(app, phone=ME, msisdn="+85261234567", state="fulfilled")

    listed = client.get("/orders").text
    for nickname, number in (("My phone", "+852 9123 4567"), ("Mum", "+852 6123 4567")):
        assert re.search(rf'{nickname}</span> <span class="nowrap num">\{number}</span>', listed), nickname
    assert "****" not in listed
    for path in (f"/orders/{mums}", f"/orders/{mums}/receipt"):
        page = client.get(path).text
        assert "Mum" in page and '<span class="nowrap num">+852 6123 4567</span>' in page and "****" not in page, path
    assert 'is on <span class="card-nickname">My phone</span>' in client.get(f"/orders/{mine}").text
    assert "+852 6123 4567" in client.get("/cards").text and "+852 6123 4567" in client.get("/account").text
    # Your own number, on your own page: whole, not masked.
    assert 'Signed in as <span class="nowrap">+852 9123 4567</span>.' in client.get("/account").text


def test_a_card_since_bound_to_someone_else_shows_masked_on_my_old_order(app, client, sign_in, plans):
    sign_in(ME)
    number = paid_order_number(app, phone=ME, state="fulfilled")  # card +85261234567, then someone else's
    with app.app_context():
        db.session.execute(update(Card).values(account_id=None, nickname="Their card"))
        db.session.commit()
    page = client.get(f"/orders/{number}/receipt").text
    assert "+852 ****4567" in page and "6123 4567" not in page and "Their card" not in page


def test_a_guest_token_page_masks_the_number(app, client, plans):
    number = paid_order_number(app, state="fulfilled")
    with app.app_context():
        db.session.execute(update(Order).values(account_id=None))
        db.session.execute(update(Card).values(nickname="Private"))
        db.session.commit()
    with app.test_request_context():
        token = guest_topup.access_token(number)
    for path in (f"/top-up/orders/{number}/{token}", f"/top-up/orders/{number}/{token}/receipt"):
        page = client.get(path).text
        assert "+852 ****4567" in page and "6123 4567" not in page and "Private" not in page, path


def test_numbers_are_grouped_as_their_numbering_plan_does():
    from rules.text.formatting import phone

    assert phone("+85261234567") == "+852 6123 4567"
    assert phone("+8613812345678") == "+86 138 1234 5678"
    assert phone("not a number") == "not a number"  # shown as stored rather than a 500
