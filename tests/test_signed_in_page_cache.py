"""A signed-in traveller's /account, /plans, /orders and checkout review are kept per session by each
worker, and never shown once anything on them changed, whichever process changed it."""

import time
from datetime import timedelta

import pytest
from conftest import bind_card, csrf_token
from sqlalchemy import delete, insert, select, update

from extensions import db
from models import Account, Card, CardPack, CarrierReading, Order, Plan, Refund, ReminderSetting, UsageReading, utcnow
from rules import accounts, catalogue_version, orders

PHONE = "+85291234567"


def signed_in_with_card(app_with, sign_in, **settings):
    """An app with `settings` that says how many SQL queries a request took, and a client signed in to it
    with a bound card."""
    app = app_with(QUERY_COUNT_HEADER=True, **settings)
    client = app.test_client()
    sign_in(PHONE, the_client=client)
    assert bind_card(app, client).status_code == 303
    client.get("/cards")  # shows (and so ends) the message about the card
    return app, client


@pytest.fixture
def traveller(app_with, sign_in, plans):
    """A signed-in traveller with a bound card; and a second app on the same database: another worker,
    with its own memory."""
    return *signed_in_with_card(app_with, sign_in), app_with()


def queries(response) -> int:
    return int(response.headers["X-Query-Count"])


def ids(app) -> tuple[int, int]:
    with app.app_context():
        account = db.session.scalars(select(Account).where(Account.phone == PHONE)).one()
        return account.id, account.cards[0].id


def order_in(worker, state: str | None = None) -> str:
    """An order made (and moved to `state` by a bulk UPDATE, as jobs do) in another worker."""
    with worker.test_request_context():
        account = db.session.scalars(select(Account).where(Account.phone == PHONE)).one()
        plan = db.session.scalars(select(Plan).where(Plan.code == "hk-1d")).one()
        order = orders.create_order(account, account.cards[0], plan, None, "en")
        db.session.commit()
        if state:
            db.session.execute(update(Order).where(Order.id == order.id).values(state=state))
            db.session.commit()
        return order.number


def test_a_page_is_served_again_without_running_the_view(traveller):
    _app, client, _worker = traveller
    first = client.get("/orders")
    again = client.get("/orders")
    assert queries(first) > 1 and queries(again) == 1  # only the account's state
    assert again.text == first.text and again.headers["Cache-Control"] == "no-store"
    assert "HX-Request" in again.headers["Vary"] and "frame-ancestors" in again.headers["Content-Security-Policy"]


def test_an_order_made_or_moved_by_another_worker_shows_at_once(traveller):
    _app, client, worker = traveller
    assert "No orders yet" in client.get("/orders").text
    client.get("/orders")
    number = order_in(worker)
    page = client.get("/orders")
    assert number in page.text and "Pay or cancel" in page.text
    client.get("/orders")
    with worker.app_context():  # a bulk UPDATE, as the jobs expire orders: no ORM event sees it
        db.session.execute(update(Order).where(Order.number == number).values(state="expired"))
        db.session.commit()
    page = client.get("/orders")
    assert queries(page) > 1 and "Pay or cancel" not in page.text and "Expired" in page.text


def test_the_review_shows_a_card_removed_elsewhere(traveller):
    app, client, worker = traveller
    _account_id, card_id = ids(app)
    review = f"/checkout?plan=hk-1d&card={card_id}"
    assert client.get(review).status_code == 200
    assert queries(client.get(review)) == 1
    with worker.app_context():
        db.session.execute(update(Card).where(Card.id == card_id).values(account_id=None))
        db.session.commit()
    response = client.get(review)  # no card any more: add one first
    assert response.status_code == 302 and response.headers["Location"].startswith("/cards")


@pytest.mark.parametrize(
    "table", ["orders", "card", "refund", "card_pack", "reminder_setting", "usage_reading", "carrier_reading"]
)
def test_every_change_to_what_the_pages_show_moves_the_accounts_pages_version(traveller, table):
    app, _client, worker = traveller
    account_id, card_id = ids(app)
    number = order_in(worker)
    with worker.app_context():
        order_id = db.session.scalar(select(Order.id).where(Order.number == number))
        now = utcnow()
        changes = {
            "orders": [update(Order).where(Order.id == order_id).values(locale="zh_Hans")],
            "card": [update(Card).where(Card.id == card_id).values(nickname="Trip")],
            "refund": [
                insert(Refund).values(order_id=order_id, out_request_no="R1", amount_cents=100),
                update(Refund).where(Refund.out_request_no == "R1").values(status="done"),
                delete(Refund).where(Refund.out_request_no == "R1"),
            ],
            "card_pack": [
                insert(CardPack).values(card_id=card_id, order_id=order_id, data_mb=1024, starts_at=now, ends_at=now),
                update(CardPack).where(CardPack.order_id == order_id).values(used_mb=5),
                delete(CardPack).where(CardPack.order_id == order_id),
            ],
            "reminder_setting": [
                insert(ReminderSetting).values(card_id=card_id, account_id=account_id, enabled=True, locale="en"),
                update(ReminderSetting).where(ReminderSetting.card_id == card_id).values(enabled=False),
                delete(ReminderSetting).where(ReminderSetting.card_id == card_id),
            ],
            "usage_reading": [
                insert(UsageReading).values(card_id=card_id, day=now.date(), used_mb=10, read_at=now),
                update(UsageReading).where(UsageReading.card_id == card_id).values(used_mb=20),
                delete(UsageReading).where(UsageReading.card_id == card_id),
            ],
            "carrier_reading": [
                insert(CarrierReading).values(card_id=card_id, read_at=now, answer="{}"),
                update(CarrierReading).where(CarrierReading.card_id == card_id).values(read_at=now),
                delete(CarrierReading).where(CarrierReading.card_id == card_id),
            ],
        }[table]
        for change in changes:
            before = db.session.scalar(select(Account.pages_version).where(Account.id == account_id))
            db.session.execute(change)
            db.session.commit()
            assert db.session.scalar(select(Account.pages_version).where(Account.id == account_id)) > before


def test_a_card_given_to_another_account_moves_both_versions(traveller, app_with):
    app, _client, worker = traveller
    account_id, card_id = ids(app)
    with worker.app_context():
        other = Account(phone="+85291230000")
        db.session.add(other)
        db.session.commit()
        versions = select(Account.pages_version).where(Account.id.in_([account_id, other.id])).order_by(Account.id)
        before = db.session.scalars(versions).all()
        db.session.execute(update(Card).where(Card.id == card_id).values(account_id=other.id))
        db.session.commit()
        after = db.session.scalars(versions).all()
    assert all(new > old for new, old in zip(after, before, strict=True))


def test_a_catalogue_change_shows_at_once(traveller):
    _app, client, worker = traveller
    client.get("/plans")
    assert "HK$18.00" in client.get("/plans").text
    with worker.app_context():
        db.session.scalars(select(Plan).where(Plan.code == "hk-1d")).one().price_cents = 2000
        catalogue_version.bump()
        db.session.commit()
    assert "HK$20.00" in client.get("/plans").text


def test_each_session_gets_its_own_page_and_csrf_token(traveller, sign_in):
    app, client, _worker = traveller
    other_device = app.test_client()
    with app.app_context():  # past the resend cool-down for a second sign-in
        from models import LoginCode

        for code in db.session.scalars(select(LoginCode)):
            code.created_at = code.created_at.replace(year=code.created_at.year - 1)
        db.session.commit()
    sign_in(PHONE, the_client=other_device)
    client.get("/orders")
    mine, theirs = client.get("/orders").text, other_device.get("/orders").text
    assert csrf_token(mine) != csrf_token(theirs)
    response = other_device.post("/logout/others", data={"csrf_token": csrf_token(theirs)})
    assert response.status_code == 303  # the token on the other device's page is its own
    assert client.get("/orders").headers["Location"].startswith("/login")  # signed out: no kept page


def test_a_waiting_message_is_shown_not_skipped(traveller):
    _app, client, _worker = traveller
    client.get("/orders")
    with client.session_transaction() as session:
        session["_flashes"] = [("message", "Your card was added.")]
    assert "Your card was added." in client.get("/orders").text
    assert "Your card was added." not in client.get("/orders").text


def test_session_limits_hold_for_a_kept_page(traveller, monkeypatch):
    _app, client, _worker = traveller
    client.get("/orders")
    assert client.get("/orders").status_code == 200
    now = accounts.now()
    monkeypatch.setattr(accounts, "now", lambda: now + 700)  # "seen" is due: the request records it
    page = client.get("/orders")
    assert page.status_code == 200 and queries(page) > 1
    with client.session_transaction() as session:
        assert session[accounts.SEEN_AT] == now + 700
    monkeypatch.setattr(accounts, "now", lambda: now + 15 * 86400)  # unused for 15 days: over
    assert client.get("/orders").headers["Location"].startswith("/login")


def test_a_review_with_a_promo_code_is_never_kept(traveller):
    app, client, _worker = traveller
    review = f"/checkout?plan=hk-1d&card={ids(app)[1]}&promo=NOPE"
    client.get(review)
    assert queries(client.get(review)) > 1


def test_page_cache_seconds_zero_turns_it_off(app_with, sign_in, plans):
    _app, client = signed_in_with_card(app_with, sign_in, PAGE_CACHE_SECONDS=0)
    client.get("/orders")
    assert queries(client.get("/orders")) > 1


def test_the_account_page_is_kept_while_the_carriers_answer_is(traveller):
    app, client, worker = traveller
    client.get("/account")  # asks the carrier and keeps its answer (CARRIER_CACHE_SECONDS)
    first = client.get("/account")  # renders from the kept answer
    again = client.get("/account")
    assert queries(again) == 1 and again.text == first.text
    assert "Turn reminders on" in again.text
    account_id, card_id = ids(app)
    with worker.app_context():  # reminders turned on in another tab, served by another worker
        db.session.add(ReminderSetting(card_id=card_id, account_id=account_id, enabled=True, locale="en"))
        db.session.commit()
    assert "Turn reminders off" in client.get("/account").text


def test_the_account_page_is_kept_no_longer_than_the_carriers_answer(app_with, sign_in, plans):
    _app, client = signed_in_with_card(app_with, sign_in, CARRIER_CACHE_SECONDS=1)
    client.get("/account")
    client.get("/account")
    assert queries(client.get("/account")) == 1
    time.sleep(1.1)  # the carrier's answer is too old now: the next look asks again
    assert queries(client.get("/account")) > 1


def test_the_account_page_is_not_kept_while_the_carrier_gives_no_answer(traveller):
    app, client, _worker = traveller
    app.config["CARRIER_DOWN"] = True
    client.get("/account")
    page = client.get("/account")
    assert "Usage not available right now" in page.text and queries(page) > 1  # asked again
    app.config["CARRIER_DOWN"] = False
    assert "Usage not available right now" not in client.get("/account").text


def test_an_htmx_swap_is_kept_apart_from_the_full_page_with_its_push_url(traveller):
    _app, client, _worker = traveller
    swap = {"HX-Request": "true"}
    client.get("/orders")
    client.get("/orders", headers=swap)
    kept = client.get("/orders", headers=swap)
    assert queries(kept) == 1 and "<html" not in kept.text and kept.headers["HX-Push-Url"] == "/orders"
    assert "<html" in client.get("/orders").text


def test_a_review_is_kept_no_longer_than_the_unpaid_orders_pay_window(traveller):
    app, client, worker = traveller
    number = order_in(worker)
    with worker.app_context():
        db.session.execute(update(Order).where(Order.number == number).values(pay_by=utcnow() + timedelta(seconds=1)))
        db.session.commit()
    review = f"/checkout?plan=hk-1d&card={ids(app)[1]}"
    assert "You already have an unpaid order" in client.get(review).text
    assert queries(client.get(review)) == 1
    time.sleep(1.1)  # its time to pay is over: the review no longer offers to continue it
    page = client.get(review)
    assert queries(page) > 1 and "You already have an unpaid order" not in page.text
