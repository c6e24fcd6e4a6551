"""Start now or after the current pack: the suggested default from the card's balance, what the review
page says happens to the running pack, and the order, pack, receipt and SMS carrying the chosen start."""

import re
from datetime import timedelta

import pytest
from conftest import csrf_token
from sqlalchemy import func, select

from extensions import db
from models import Account, Card, CardPack, Order, Plan, SmsMessage, utcnow
from rules.ordering import fulfilment
from rules.payments import payment_events

PHONE = "+85291234567"
GB = 1024
CHECKED = re.compile(r'name="start" value="(\w+)" checked')


def add_card_with_running_pack(app, plan_code: str | None = "hk-30d", used_mb: int = 0, *, phone=PHONE) -> int:
    """A card bound to `phone`'s account with a pack of `plan_code` running since yesterday; the card's id."""
    with app.app_context():
        account = db.session.scalars(select(Account).where(Account.phone == phone)).one()
        card = Card(msisdn="+85261234567", iccid="8985200000000000001", account_id=account.id, bound_at=utcnow())
        db.session.add(card)
        db.session.flush()
        if plan_code:
            plan = db.session.scalars(select(Plan).where(Plan.code == plan_code)).one()
            start = utcnow() - timedelta(days=1)
            end = start + timedelta(days=plan.days)
            order = Order(
                number="RR261101-OLD001",
                account_id=account.id,
                card_id=card.id,
                plan_id=plan.id,
                state="fulfilled",
                currency="HKD",
                price_cents=plan.price_cents,
                total_cents=plan.price_cents,
                validity_start=start,
                validity_end=end,
                pay_by=start,
                paid_at=start,
            )
            db.session.add(order)
            db.session.flush()
            db.session.add(
                CardPack(
                    card_id=card.id,
                    order_id=order.id,
                    data_mb=plan.data_mb,
                    used_mb=used_mb,
                    starts_at=start,
                    ends_at=end,
                )
            )
        db.session.commit()
        return card.id


@pytest.fixture
def traveller(app, client, plans, sign_in):
    sign_in(PHONE)


def review(client, card_id, plan, **query):
    return client.get("/checkout", query_string={"plan": plan, "card": card_id, **query})


def checked(page) -> str:
    return CHECKED.search(page.text).group(1)


def running_pack_end(app):
    with app.app_context():
        return db.session.scalars(select(CardPack).join(Order).where(Order.number == "RR261101-OLD001")).one().ends_at


@pytest.mark.parametrize(
    "pack_plan, used_mb, new_plan, default, why",
    [
        ("hk-30d", 30 * GB - 100, "hk-1d", "now", "used up or almost used up"),  # under 5 % left
        ("hk-30d", 30 * GB, "hk-1d", "now", "used up or almost used up"),
        ("hk-30d", 1 * GB, "hk-1d", "after_current", "still has 29 GB left"),  # plenty, same region
        # Not covered, but starting now would throw 29 GB and 4 weeks away: the traveller decides.
        ("hk-30d", 1 * GB, "trio-7d", "after_current", "does not cover Hong Kong + mainland + Macau"),
        ("hk-30d", 27 * GB, "trio-7d", "now", "does not cover Hong Kong + mainland + Macau"),  # 10 % left
        ("gba-30d", 0, "gba-7d", "after_current", "still has 20 GB left"),
        ("trio-365d", 0, "gba-7d", "after_current", "still has"),  # a wider pack covers a narrower plan
    ],
)
def test_the_suggested_start_follows_the_balance(app, client, traveller, pack_plan, used_mb, new_plan, default, why):
    card_id = add_card_with_running_pack(app, pack_plan, used_mb)
    page = review(client, card_id, new_plan)
    assert page.status_code == 200
    assert checked(page) == default
    assert why in page.text


def test_starting_after_the_current_pack_starts_when_it_ends(app, client, traveller):
    card_id = add_card_with_running_pack(app, "hk-30d", 1 * GB)
    page = review(client, card_id, "hk-1d")
    assert checked(page) == "after_current"
    assert "right after the pack already on this card ends" in page.text


def test_starting_now_says_plainly_what_happens_to_the_current_pack(app, client, traveller):
    card_id = add_card_with_running_pack(app, "hk-30d", 27 * GB)
    page = review(client, card_id, "trio-7d")
    assert checked(page) == "now"
    assert re.search(r"3 GB and 2[89] days left on your current pack are lost\.", page.text)
    assert "as soon as you have paid; your current pack ends then" in page.text


def test_start_now_is_not_preselected_when_much_would_be_lost_and_says_how_much(app, client, traveller):
    card_id = add_card_with_running_pack(app, "hk-30d", 1 * GB)
    page = review(client, card_id, "trio-7d")
    assert checked(page) == "after_current"
    assert re.search(r"29 GB and 2[89] days left on your current pack are lost\.", page.text)
    assert "choose Start now only if you need Hong Kong + mainland + Macau at once" in page.text


def test_the_traveller_may_choose_the_other_start_in_the_query_string(app, client, traveller):
    card_id = add_card_with_running_pack(app, "hk-30d", 1 * GB)
    page = review(client, card_id, "hk-1d", start="now")
    assert checked(page) == "now"
    assert 'name="start" value="now"' in page.text.split('action="/checkout/confirm"')[1]


def test_without_a_pack_on_the_card_there_is_no_choice_to_make(app, client, traveller):
    card_id = add_card_with_running_pack(app, None)
    page = review(client, card_id, "hk-1d")
    assert "When should the new pack start?" not in page.text and "as soon as you have paid" in page.text


def test_an_unreadable_balance_suggests_after_the_current_pack_and_says_why(app_with, plans, sign_in):
    app = app_with(CARRIER_DOWN=True)
    client = app.test_client()
    sign_in(PHONE, client)
    card_id = add_card_with_running_pack(app, "hk-30d", 30 * GB)  # used up, but we cannot know
    page = review(client, card_id, "hk-1d")
    assert page.status_code == 200 and checked(page) == "after_current"
    assert "We could not read what is left on this card" in page.text


def test_the_start_choice_swaps_the_page_with_htmx(app, client, traveller):
    card_id = add_card_with_running_pack(app, "hk-30d", 1 * GB)
    page = review(client, card_id, "hk-1d")
    assert 'hx-get="/checkout" hx-trigger="change"' in page.text
    swapped = client.get(
        "/checkout", query_string={"plan": "hk-1d", "card": card_id, "start": "now"}, headers={"HX-Request": "true"}
    )
    assert swapped.status_code == 200 and "<html" not in swapped.text and checked(swapped) == "now"
    assert "start=now" in swapped.headers["HX-Push-Url"]


@pytest.mark.parametrize("bad", ["later", "NOW", "now'--", "x" * 500])
def test_a_start_that_is_not_a_choice_shows_the_default_with_a_message(app, client, traveller, bad):
    card_id = add_card_with_running_pack(app, "hk-30d", 1 * GB)
    page = review(client, card_id, "hk-1d", start=bad)
    assert page.status_code == 200 and checked(page) == "after_current"
    assert "That start is not one of the choices" in page.text


def confirm(client, card_id, plan, start):
    page = review(client, card_id, plan)
    data = {"csrf_token": csrf_token(page.text), "plan": plan, "card": card_id, "start": start}
    return client.post("/checkout/confirm", data=data)


def test_confirming_a_start_that_is_not_a_choice_is_refused_and_creates_nothing(app, client, traveller):
    card_id = add_card_with_running_pack(app, "hk-30d", 1 * GB)
    response = confirm(client, card_id, "hk-1d", "tomorrow")
    assert response.status_code == 422 and "Choose when the pack starts" in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count(Order.id))) == 1  # only the running pack's order


def pay_and_add(app, number):
    with app.test_request_context():
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        payment_events.apply_paid(order, "2026112822001400009999", "notification", {})
        fulfilment.fulfil(order, "notification")
        db.session.commit()


def new_order(app):
    with app.app_context():
        order = db.session.scalars(select(Order).where(Order.number != "RR261101-OLD001")).one()
        db.session.expunge(order)
        return order


def test_an_order_started_now_replaces_the_running_pack_and_says_so_on_receipt_and_sms(app, client, traveller):
    card_id = add_card_with_running_pack(app, "hk-30d", 1 * GB)
    response = confirm(client, card_id, "trio-7d", "now")
    assert response.status_code == 303
    order = new_order(app)
    assert order.start_mode == "now"
    assert abs((order.validity_start - utcnow()).total_seconds()) < 60
    assert order.validity_end - order.validity_start == timedelta(days=7)
    pay_and_add(app, order.number)
    assert running_pack_end(app) == order.validity_start  # the carrier ended it when the new one started
    receipt = client.get(f"/orders/{order.number}/receipt")
    assert "Straight away: the pack running on the card ended when this one started." in receipt.text
    with app.app_context():
        sms = db.session.scalars(select(SmsMessage).where(SmsMessage.purpose == "order_paid")).one().body
    assert "Valid " in sms and "any pack running before it ends then" in sms


def test_an_order_started_after_the_current_pack_keeps_it_and_carries_its_dates(app, client, traveller):
    card_id = add_card_with_running_pack(app, "hk-30d", 1 * GB)
    pack_end = running_pack_end(app)
    assert confirm(client, card_id, "hk-1d", "after_current").status_code == 303
    order = new_order(app)
    assert (order.start_mode, order.validity_start) == ("after_current", pack_end)
    pay_and_add(app, order.number)
    assert running_pack_end(app) == pack_end  # untouched
    receipt = client.get(f"/orders/{order.number}/receipt")
    assert "After the pack that was already on the card." in receipt.text
    with app.test_request_context():
        from rules.text.formatting import hk_time

        start_text = hk_time(pack_end)
        sms = db.session.scalars(select(SmsMessage).where(SmsMessage.purpose == "order_paid")).one().body
    assert f"Valid {start_text} to " in sms and "ends then" not in sms


def test_confirming_again_with_the_other_start_moves_the_unpaid_order(app, client, traveller):
    card_id = add_card_with_running_pack(app, "hk-30d", 1 * GB)
    confirm(client, card_id, "hk-1d", "after_current")
    confirm(client, card_id, "hk-1d", "now")
    order = new_order(app)  # one unpaid order, now starting now
    assert order.start_mode == "now" and abs((order.validity_start - utcnow()).total_seconds()) < 60
