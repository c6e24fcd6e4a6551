"""The account page: what is left on each card, read from the carrier (kept 60 s), never an error page."""

import re
from datetime import timedelta

import pytest
from conftest import bind_card, csrf_token, post_form
from sqlalchemy import event, select

from extensions import db
from gateways import carrier
from models import Account, Card, CardPack, CarrierReading, Order, Plan, UsageReading, utcnow
from rules.travellers import iccid

USAGE = "/account?refresh=1"  # the account page, its carrier asked (as its usage part asks by itself)

PHONE = "+85291234567"


def add_pack(app, msisdn="+85261234567", plan_code="gba-7d", used_mb=0, days_ago=1, days=7, starts_in_days=0):
    """A fulfilled-like pack on the card (created if needed), for the signed-in account."""
    with app.app_context():
        card = db.session.scalars(select(Card).where(Card.msisdn == msisdn)).one()
        plan = db.session.scalars(select(Plan).where(Plan.code == plan_code)).one()
        now = utcnow()
        starts = now - timedelta(days=days_ago) + timedelta(days=starts_in_days)
        order = Order(
            number=f"RRT{card.id}{plan.id}{starts_in_days}{used_mb}"[:20],
            account_id=card.account_id,
            card_id=card.id,
            plan_id=plan.id,
            state="fulfilled",
            currency="HKD",
            price_cents=plan.price_cents,
            total_cents=plan.price_cents,
            validity_start=starts,
            validity_end=starts + timedelta(days=days),
            pay_by=now,
        )
        db.session.add(order)
        db.session.flush()
        db.session.add(
            CardPack(
                card_id=card.id,
                order_id=order.id,
                data_mb=plan.data_mb,
                used_mb=used_mb,
                starts_at=starts,
                ends_at=starts + timedelta(days=days),
                created_at=now - timedelta(hours=1),  # recorded before any reading the tests move back
            )
        )
        db.session.commit()


@pytest.fixture
def traveller(app, client, sign_in, plans):
    sign_in(PHONE)
    assert bind_card(app, client).status_code == 303
    return client


def test_sign_in_lands_on_the_account_page(app, client, plans):
    post_form(client, "/login", phone=PHONE)
    from conftest import code_from_sms, last_sms

    response = post_form(client, "/login/code", code=code_from_sms(last_sms(app, PHONE)))
    assert response.headers["Location"] == "/account"
    assert "My account" in client.get(USAGE).text


def test_the_account_page_needs_sign_in(client):
    response = client.get(USAGE)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_account_page_shows_what_is_left_and_when_it_ends(app, traveller):
    add_pack(app, used_mb=2048)  # 10 GB pack
    page = traveller.get(USAGE).text
    assert '<strong class="num">8 GB</strong> left of <span class="nowrap">10 GB</span>' in page
    assert 'value="80"' in page and "8 GB left of 10 GB: 80 percent" in page
    assert "6 days left" in page
    assert "Voice: 100 minutes left" in page
    assert "Read from the carrier less than a minute ago." in page
    assert 'href="/checkout?card=' in page and "Renew" in page
    assert 'href="/orders"' in page


def test_a_queued_pack_is_listed_after_the_one_in_use(app, traveller):
    add_pack(app, used_mb=100)
    add_pack(app, plan_code="gba-3d", days=3, starts_in_days=7)
    page = traveller.get(USAGE).text
    assert page.index("In use") < page.index("Next")
    assert "9 days left" in page  # until the queued pack ends


def test_the_reading_is_kept_a_minute_and_the_page_says_how_old_it_is(app, traveller):
    app.config["PAGE_CACHE_SECONDS"] = 0  # the reading's age is moved by hand below, not by the clock
    add_pack(app, used_mb=1024)
    assert "9 GB</strong> left" in traveller.get(USAGE).text
    with app.app_context():
        db.session.execute(db.update(CardPack).values(used_mb=5120))
        db.session.commit()
    assert "9 GB</strong> left" in traveller.get(USAGE).text  # still the kept answer
    with app.app_context():
        db.session.execute(db.update(CarrierReading).values(read_at=utcnow() - timedelta(seconds=150)))
        db.session.commit()
    with app.app_context():
        app.config["CARRIER_CACHE_SECONDS"] = 300
    assert "Read from the carrier 2 minutes ago." in traveller.get(USAGE).text
    app.config["CARRIER_CACHE_SECONDS"] = 60
    assert "5 GB</strong> left" in traveller.get(USAGE).text  # older than 60 s: asked again


def test_the_full_page_never_waits_on_the_carrier_its_usage_part_asks_by_itself(app, traveller):
    """A slow or dead carrier must not slow the page: it shows what is kept, and loads the rest."""
    add_pack(app, used_mb=1024)
    first = traveller.get("/account").text  # nothing kept yet: the carrier is not asked by the page
    assert "Not read from the carrier yet." in first and 'hx-trigger="load"' in first
    assert 'href="/account?refresh=1"' in first  # without JavaScript, Refresh asks
    with app.app_context():
        assert db.session.scalar(select(db.func.count(CarrierReading.card_id))) == 0
    part = traveller.get("/account", headers={"HX-Request": "true", "HX-Target": "usage"}).text
    assert "9 GB</strong> left" in part and 'hx-trigger="load"' not in part  # asked once, no loop
    with app.app_context():
        db.session.execute(db.update(CardPack).values(used_mb=5120))
        db.session.execute(db.update(CarrierReading).values(read_at=utcnow() - timedelta(seconds=150)))
        db.session.commit()
    kept = traveller.get("/account").text  # not recent: shown with its age, and asked for again
    assert "9 GB</strong> left" in kept and "Read from the carrier 2 minutes ago." in kept
    assert 'hx-trigger="load"' in kept
    part = traveller.get("/account", headers={"HX-Request": "true", "HX-Target": "usage"}).text
    assert "5 GB</strong> left" in part and "less than a minute ago" in part


def test_refresh_swaps_only_the_usage_part_for_htmx(app, traveller):
    add_pack(app)
    response = traveller.get("/account", headers={"HX-Request": "true", "HX-Target": "usage"})
    assert response.text.lstrip().startswith('<div id="usage"')
    assert "<h1>" not in response.text and "HX-Push-Url" not in response.headers


@pytest.mark.parametrize("mode", ["down", "timeout"])
def test_a_carrier_that_cannot_answer_gives_usage_not_available_not_an_error(app, traveller, mode):
    add_pack(app)
    app.config["CARRIER_TIMEOUT_SECONDS"] = 0
    with app.app_context():
        from sandbox import carrier_sim

        carrier_sim.set_mode(mode)
        db.session.commit()
    response = traveller.get(USAGE)
    assert response.status_code == 200
    assert "Usage not available right now" in response.text
    assert "Renew" in response.text  # renewing does not need the carrier's answer


def test_carrier_down_setting_gives_usage_not_available(app, traveller):
    add_pack(app)
    app.config["CARRIER_DOWN"] = True
    response = traveller.get(USAGE)
    assert response.status_code == 200 and "Usage not available right now" in response.text


class Nonsense(carrier.Carrier):
    def __init__(self, **pack_fields):
        self.pack_fields = pack_fields

    def balance(self, card):
        now = utcnow()
        fields = {
            "order_id": None,
            "data_mb": 1024,
            "used_mb": 10,
            "fair_use_mb": None,
            "voice_minutes": 0,
            "voice_used_minutes": 0,
            "starts_at": now - timedelta(days=1),
            "ends_at": now + timedelta(days=1),
        }
        fields.update(self.pack_fields)
        return carrier.CardBalance(msisdn=card.msisdn, packs=(carrier.PackBalance(**fields),), read_at=now)


@pytest.mark.parametrize(
    "fields", [{"used_mb": -5}, {"used_mb": None}, {"ends_at": None}, {"data_mb": "lots"}, {"voice_used_minutes": -1}]
)
def test_a_carrier_answer_with_missing_figures_or_negative_usage_is_not_shown(app, traveller, fields):
    app.extensions["carrier"] = Nonsense(**fields)
    response = traveller.get(USAGE)
    assert response.status_code == 200
    assert "Usage not available right now" in response.text
    with app.app_context():
        assert db.session.scalar(select(CarrierReading.card_id)) is None  # nonsense is not kept


class Choking(carrier.Carrier):
    def balance(self, card):
        return carrier.PackBalance(order_id=None)  # an adapter that cannot read the carrier's answer


def test_an_adapter_choking_on_the_carriers_answer_gives_usage_not_available(app, traveller):
    app.extensions["carrier"] = Choking()
    response = traveller.get(USAGE)
    assert response.status_code == 200 and "Usage not available right now" in response.text


def test_a_sane_answer_from_another_carrier_is_shown(app, traveller):
    app.extensions["carrier"] = Nonsense()
    assert "1,014 MB" in traveller.get(USAGE).text or "1014 MB" in traveller.get(USAGE).text


def test_another_accounts_card_never_shows(app, traveller, client):
    add_pack(app, used_mb=4096)
    other = app.test_client()
    post_form(other, "/login", phone="+85298765432")
    from conftest import code_from_sms, last_sms

    post_form(other, "/login/code", code=code_from_sms(last_sms(app, "+85298765432")))
    page = other.get(USAGE).text
    assert "4567" not in page and "No cards yet" in page
    with app.app_context():
        card_id = db.session.scalar(select(Card.id))
        packs_before = db.session.execute(select(CardPack.id, CardPack.used_mb)).all()
    bind_card(app, other, number="9876 5432", iccid_text=iccid.with_check_digit("898520012345678905"))
    assert other.get(f"/cards/{card_id}").status_code == 404
    refused = other.get(f"/checkout?card={card_id}")
    assert refused.status_code in (404, 422) and "6123" not in refused.text
    assert "6123" not in other.get(USAGE).text
    with app.app_context():
        assert db.session.execute(select(CardPack.id, CardPack.used_mb)).all() == packs_before


def test_no_forecast_from_fewer_than_two_days(app, traveller):
    add_pack(app, used_mb=1000)
    assert "No forecast yet: it needs at least 2 days of usage." in traveller.get(USAGE).text


def test_a_card_running_out_early_gets_a_forecast_and_a_plan_that_covers_the_rest(app, traveller):
    add_pack(app, used_mb=6000, days_ago=2)  # 10 GB, 7 days, 5 days to go; 3000 MB a day
    with app.app_context():
        card_id = db.session.scalar(select(Card.id))
        today = __import__("rules.travellers.usage", fromlist=["hk_day"]).hk_day(utcnow())
        db.session.add(UsageReading(card_id=card_id, day=today - timedelta(days=2), used_mb=0))
        db.session.commit()
    page = traveller.get(USAGE).text
    # Amounts and days in the sentence are kept on one line each ("2.9" / "GB" never split).
    assert 'At your usage this week (about <span class="nowrap">2.9 GB</span> a day), data runs out around' in page
    assert re.search(r'To cover the rest of your trip \(about <span class="nowrap">[\d.]+ GB</span>\)', page)
    assert "days before the pack ends" in page
    assert "To cover the rest of your trip" in page and "plan=" in page


def test_a_queued_pack_is_counted_and_the_forecast_says_which_pack_runs_dry(app, traveller):
    add_pack(app, used_mb=6000, days_ago=2)  # 10 GB, 7 days, 5 days to go; 3000 MB a day: out in 1.4 days
    add_pack(app, plan_code="gba-30d", days_ago=2, days=6, starts_in_days=7)  # 20 GB from when it ends: lasts
    with app.app_context():
        card_id = db.session.scalar(select(Card.id))
        today = __import__("rules.travellers.usage", fromlist=["hk_day"]).hk_day(utcnow())
        db.session.add(UsageReading(card_id=card_id, day=today - timedelta(days=2), used_mb=0))
        db.session.commit()
    page = traveller.get(USAGE).text
    assert "11 days left" in page  # until the queued pack ends
    sentence = re.search(r"data runs out around .*?</p>", page, re.S).group(0)
    assert "That pack ends" in sentence and "the next one starts" in sentence
    assert re.search(r'about <span class="nowrap">1[0-2](\.\d)? GB</span>', page)  # only the gap before it
    chinese = traveller.get(USAGE, headers={"Accept-Language": "zh-HK"}).text
    assert "日。該套餐" in chinese  # no space between sentences in Chinese


def queries_for_account_page(app, client) -> int:
    count = [0]

    def counted(*args):
        count[0] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", counted)
    try:
        assert client.get(USAGE).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    return count[0]


def add_cards(app, how_many: int) -> None:
    with app.app_context():
        account = db.session.scalars(select(Account).where(Account.phone == PHONE)).one()
        for index in range(how_many):
            msisdn = f"+8525123{index:04d}"
            db.session.add(
                Card(msisdn=msisdn, iccid=iccid.with_check_digit(f"89852009{index:010d}"), account_id=account.id)
            )
        db.session.commit()
    with app.app_context():
        for msisdn in db.session.scalars(select(Card.msisdn).where(Card.msisdn.like("+8525123%"))).all():
            add_pack(app, msisdn=msisdn, used_mb=500)
            add_pack(app, msisdn=msisdn, plan_code="gba-3d", days=3, starts_in_days=7)


def test_the_account_page_asks_the_database_as_often_for_three_cards_as_for_one(app, traveller):
    add_pack(app, used_mb=500)
    one_cold = queries_for_account_page(app, traveller)
    one_warm = queries_for_account_page(app, traveller)
    add_cards(app, 2)
    three_cold = queries_for_account_page(app, traveller)
    three_warm = queries_for_account_page(app, traveller)
    assert (three_cold, three_warm) == (one_cold, one_warm), (one_cold, one_warm, three_cold, three_warm)
    assert three_warm < three_cold


def test_a_csrf_token_is_on_the_page_for_htmx(traveller):
    assert csrf_token(traveller.get(USAGE).text)
