"""What is left is right at once after buying: a pack this site records makes the kept carrier answer stale."""

from datetime import timedelta
from urllib.parse import urlsplit

from conftest import bind_card, csrf_token, run_jobs
from sqlalchemy import select, update
from test_payment_recovery import pay_at_cashier

from extensions import db
from models import Card, CardPack, CarrierReading, Order

USAGE = "/account?refresh=1"  # Refresh without JavaScript (the usage part's htmx request asks the same way)


def buy(app, client, plan: str, start: str | None = None) -> str:
    """Review, confirm, pay at the sandbox cashier and come back, as a traveller does; the order's number."""
    with app.app_context():
        card_id = db.session.scalar(select(Card.id))
    review = client.get(f"/checkout?card={card_id}&plan={plan}" + (f"&start={start}" if start else ""))
    assert review.status_code == 200, review.text
    data = {"csrf_token": csrf_token(review.text), "plan": plan, "card": card_id}
    if start:
        data["start"] = start
    confirmed = client.post("/checkout/confirm", data=data)
    assert confirmed.status_code == 303, confirmed.text
    with app.app_context():
        number = db.session.scalars(select(Order.number).order_by(Order.id.desc())).first()
    back = urlsplit(pay_at_cashier(client, number, "drop"))
    client.get(f"{back.path}?{back.query}")  # the return page asks the gateway: paid
    run_jobs(app)  # the worker adds the data
    with app.app_context():
        assert db.session.scalars(select(Order.state).where(Order.number == number)).one() == "fulfilled"
    return number


def test_a_pack_bought_here_shows_at_once_though_the_carrier_was_read_a_moment_before(
    app, client, live_server, sign_in, plans
):
    sign_in()
    assert bind_card(app, client).status_code == 303
    before = client.get(USAGE).text
    assert "No pack in use on this card." in before  # read and kept: less than a minute old

    buy(app, client, "gba-7d")
    after = client.get(USAGE).text
    assert "No pack in use on this card." not in after and "In use" in after and "10 GB" in after
    assert "Read from the carrier less than a minute ago." in after

    buy(app, client, "gba-3d", start="after_current")  # queued after the running pack
    queued = client.get(USAGE).text
    assert "Next" in queued and "10 days left" in queued
    assert "Next" in client.get("/account").text  # the full page shows the answer just kept


def test_an_answer_read_before_the_pack_but_kept_after_it_is_never_shown(app, client, live_server, sign_in, plans):
    """A page that asked the carrier just before the worker added the pack may keep its answer just
    after: the pack is newer than that answer, so the answer is stale whenever it was kept."""
    sign_in()
    assert bind_card(app, client).status_code == 303
    client.get(USAGE)
    with app.app_context():
        no_pack = db.session.scalars(select(CarrierReading.answer)).one()
    buy(app, client, "gba-7d")
    with app.app_context():
        pack_recorded = db.session.scalars(select(CardPack.created_at)).one()
        db.session.execute(
            update(CarrierReading).values(answer=no_pack, read_at=pack_recorded - timedelta(milliseconds=5))
        )
        db.session.commit()
    full = client.get("/account").text  # never waits on the carrier: shows no stale answer, asks by itself
    assert "No pack in use on this card." not in full and 'hx-trigger="load"' in full
    part = client.get("/account", headers={"HX-Request": "true", "HX-Target": "usage"}).text
    assert "In use" in part and "10 GB" in part
