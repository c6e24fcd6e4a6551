"""A counter payment is one figure: the amount shown, confirmed and saved is the price now (a sale price,
a promo code), a price that changed between the two steps is refused, and an unknown card is refused at
the first step, before anything is offered for confirmation. Through the staff pages, signed in as an agent."""

from conftest import csrf_token, load_order, make_order
from shops_support import make_location
from sqlalchemy import func, select
from staff_support import audit_rows, make_staff, staff_sign_in
from test_staff_money_pages import hidden_inputs

from extensions import db
from models import Card, Order, Plan, Promotion


def agent_at_the_counter(app, client) -> dict:
    make_order(app)  # the demo plans (Greater Bay 7-Day on sale, HK$98 → HK$78) and the card +85261234567
    make_location(app, "desk-3", "Airport desk 3")
    make_staff(app, "kit", "agent")
    assert staff_sign_in(client, "kit").status_code == 303
    return {
        "csrf_token": csrf_token(client.get("/staff/counter").text),
        "card_number": "61234567",
        "plan": "gba-7d",
        "method": "cash",
        "location": "desk-3",
        "locale": "en",
    }


def confirm_step(html: str) -> str:
    return html.split('class="confirm"', 1)[1].split("</div>", 1)[0] if 'class="confirm"' in html else ""


def counter_orders(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Order).where(Order.payment_method.like("counter:%")))


def test_a_plan_on_sale_is_shown_confirmed_and_saved_at_its_sale_price(app, client):
    form = agent_at_the_counter(app, client)
    assert "Greater Bay 7-Day · HK$78.00" in client.get("/staff/counter").text
    shown = client.post("/staff/counter", data=form)
    assert shown.status_code == 200
    assert "Record HK$78.00 paid by Cash for Greater Bay 7-Day?" in confirm_step(shown.text)
    assert "HK$98.00" not in confirm_step(shown.text)
    done = client.post("/staff/counter", data={**form, **hidden_inputs(shown.text)})
    assert done.status_code == 303
    order = load_order(app, done.headers["Location"].rsplit("/", 1)[1])
    assert (order.price_cents, order.discount_cents, order.total_cents) == (7800, 0, 7800)
    assert '"total_cents": 7800' in audit_rows(app, "order.counter_payment")[0].after


def test_a_promo_code_is_in_the_figure_shown_and_saved(app, client):
    form = {**agent_at_the_counter(app, client), "plan": "gba-3d", "promo_code": "welcome10"}
    shown = client.post("/staff/counter", data=form)
    assert "Record HK$52.20 paid by Cash" in confirm_step(shown.text)  # HK$58 less 10 %
    done = client.post("/staff/counter", data={**form, **hidden_inputs(shown.text)})
    order = load_order(app, done.headers["Location"].rsplit("/", 1)[1])
    assert (order.price_cents, order.discount_cents, order.total_cents) == (5800, 580, 5220)
    with app.app_context():
        assert db.session.scalars(select(Promotion)).one().uses_reserved == 1


def test_a_price_that_changed_after_the_confirm_step_was_shown_is_refused(app, client):
    form = agent_at_the_counter(app, client)
    shown = client.post("/staff/counter", data=form)
    assert "Record HK$78.00" in confirm_step(shown.text)
    with app.app_context():  # the sale ends while the agent reads the confirm step
        db.session.scalars(select(Plan).where(Plan.code == "gba-7d")).one().sale_price_cents = None
        db.session.commit()
    refused = client.post("/staff/counter", data={**form, **hidden_inputs(shown.text)})
    assert refused.status_code == 422
    assert "The price changed to HK$98.00. Check and confirm again." in refused.text
    assert confirm_step(refused.text) == "" and counter_orders(app) == 0
    assert audit_rows(app, "order.counter_payment") == []
    again = client.post("/staff/counter", data=form)
    assert "Record HK$98.00 paid by Cash" in confirm_step(again.text)


def test_a_confirm_step_without_its_figure_records_nothing(app, client):
    form = agent_at_the_counter(app, client)
    sent = {**hidden_inputs(client.post("/staff/counter", data=form).text), **form}
    sent.pop("quoted")
    refused = client.post("/staff/counter", data=sent)
    assert refused.status_code == 422 and "The price changed to HK$78.00" in refused.text
    assert counter_orders(app) == 0


def test_an_unknown_card_is_refused_at_the_first_step_before_any_confirmation(app, client):
    form = agent_at_the_counter(app, client)
    for card in ({"card_number": "6999 0000"}, {"card_number": "6999 0000", "iccid": "8985200123"}):
        refused = client.post("/staff/counter", data={**form, **card})
        assert refused.status_code == 422 and 'id="iccid-error"' in refused.text
        assert "Yes, record the payment" not in refused.text and confirm_step(refused.text) == ""
    assert (
        "We have no card with this number"
        in client.post("/staff/counter", data={**form, "card_number": "69990000"}).text
    )
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Card).where(Card.msisdn == "+85269990000")) == 0
    assert counter_orders(app) == 0
