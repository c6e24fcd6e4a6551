"""Smaller traveller fixes: sale prices wherever a plan is chosen, the sale's end date, order steps that
tick only what is done, a confirm step before cancelling an order or removing a card, a word on signing out."""

import re

from conftest import bind_card, csrf_token, load_order, make_order
from sqlalchemy import select

from extensions import db
from models import Account, Card, Plan
from rules.text.formatting import hk_time
from rules.travellers import reminders

ME = "+85291234567"


def sale_end(app) -> str:
    with app.test_request_context():
        plan = db.session.scalars(select(Plan).where(Plan.code == "gba-7d")).one()  # on sale in the demo
        return hk_time(plan.sale_ends_at, "date")


def test_the_plan_list_says_until_when_a_sale_runs(app, client, plans):
    page = client.get("/plans").text
    assert f'Sale until <span class="nowrap">{sale_end(app)}</span>' in page


def test_the_plan_chooser_a_reminder_link_opens_shows_the_sale_price_and_its_end(app, client, sign_in, plans):
    sign_in(ME)
    assert bind_card(app, client).status_code == 303
    with app.test_request_context():
        account = db.session.scalars(select(Account).where(Account.phone == ME)).one()
        link = reminders.new_link(db.session.scalars(select(Card)).one(), account.id)
        db.session.commit()
        path = "/r/" + link.token
    chooser = client.get(path, follow_redirects=True)
    assert chooser.status_code == 200 and "Which plan do you want?" in chooser.text
    seven_day = chooser.text.split('value="gba-7d"')[1].split("</li>")[0]
    assert '<s aria-label="was">HK$98.00</s>' in seven_day and "HK$78.00" in seven_day
    assert f'Sale until <span class="nowrap">{sale_end(app)}</span>' in seven_day


def steps(page: str) -> list[tuple[str, str]]:
    found = re.search(r'<ol class="progress">(.*?)</ol>', page, re.S).group(1)
    return re.findall(r'<li class="([^"]*)">([^<]+)</li>', found)


def test_order_steps_tick_only_what_is_done(app, client, live_server, sign_in, plans):
    sign_in(ME)
    number = make_order(app, phone=ME)
    assert steps(client.get(f"/orders/{number}").text) == [
        ("done", "Order placed"),
        ("now", "Paid"),
        ("", "Data added to your card"),
    ]
    confirm = client.get(f"/orders/{number}?cancel=1")
    client.post(f"/orders/{number}/cancel", data={"csrf_token": csrf_token(confirm.text)})
    cancelled = steps(client.get(f"/orders/{number}").text)
    assert cancelled == [("done", "Order placed"), ("", "Paid"), ("", "Data added to your card")]
    assert "Waiting for payment</li>" not in client.get(f"/orders/{number}").text


def test_cancel_order_asks_first_and_works_without_javascript(app, client, live_server, sign_in, plans):
    sign_in(ME)
    number = make_order(app, phone=ME)
    page = client.get(f"/orders/{number}").text
    assert f'action="/orders/{number}/cancel"' not in page  # one tap does not cancel
    assert f'href="/orders/{number}?cancel=1"' in page
    ask = client.get(f"/orders/{number}?cancel=1").text
    assert "Cancel this order?" in ask and "Yes, cancel this order" in ask and "No, keep it" in ask
    assert f'action="/orders/{number}/cancel"' in ask and 'hx-trigger="load' not in ask  # no update under a thumb
    assert load_order(app, number).state == "pending_payment"  # asking changed nothing
    done = client.post(f"/orders/{number}/cancel", data={"csrf_token": csrf_token(ask)}, follow_redirects=True)
    assert load_order(app, number).state == "cancelled" and "Cancel this order?" not in done.text


def test_remove_card_asks_first_names_the_card_and_works_without_javascript(app, client, sign_in, plans):
    sign_in(ME)
    assert bind_card(app, client, nickname="Mum").status_code == 303
    with app.app_context():
        card_id = db.session.scalar(select(Card.id))
    page = client.get(f"/cards/{card_id}").text
    assert f'action="/cards/{card_id}/unbind"' not in page and f'href="/cards/{card_id}?remove=1#remove"' in page
    ask = client.get(f"/cards/{card_id}?remove=1").text
    assert 'Remove <span class="card-nickname">Mum</span>' in ask and "+852 6123 4567" in ask
    assert f'action="/cards/{card_id}/unbind"' in ask and "No, keep it" in ask
    with app.app_context():
        assert db.session.get(Card, card_id).account_id is not None  # asking changed nothing
    done = client.post(f"/cards/{card_id}/unbind", data={"csrf_token": csrf_token(ask)}, follow_redirects=True)
    assert "Card +852 6123 4567 removed." in done.text
    with app.app_context():
        assert db.session.get(Card, card_id).account_id is None


def test_signing_out_says_so(app, client, sign_in):
    sign_in(ME)
    page = client.get("/account")
    done = client.post("/logout", data={"csrf_token": csrf_token(page.text)}, follow_redirects=True)
    assert "You are signed out." in done.text
    assert client.get("/account").status_code == 302  # and really is
