"""The simulated carrier's side: simulate-usage, daily readings by the jobs worker, sandbox switches."""

from datetime import timedelta

import pytest
from conftest import bind_card, post_form
from sqlalchemy import func, select

import jobs
from extensions import db
from models import Card, CardPack, CarrierReading, UsageReading, utcnow
from rules.travellers import usage
from sandbox import carrier_sim
from sandbox.models import SandboxSetting

USAGE = "/account?refresh=1"  # the account page, its carrier asked (as its usage part asks by itself)


@pytest.fixture
def card_with_pack(app, client, sign_in, plans):
    """A bound card with a 10 GB pack in use since yesterday."""
    sign_in("+85291234567")
    assert bind_card(app, client).status_code == 303
    with app.app_context():
        card = db.session.scalars(select(Card)).one()
        now = utcnow()
        db.session.add(
            CardPack(card_id=card.id, data_mb=10240, starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=6))
        )
        db.session.commit()
        return card.id


def invoke(app, *args):
    return app.test_cli_runner().invoke(args=["carrier", "simulate-usage", *args])


def pack_state(app):
    with app.app_context():
        packs = db.session.execute(select(CardPack.id, CardPack.used_mb)).all()
        readings = db.session.execute(select(UsageReading.day, UsageReading.used_mb)).all()
        return packs, readings


def test_simulate_usage_uses_megabytes_now_and_records_todays_reading(app, card_with_pack):
    result = invoke(app, "--card", "6123 4567", "--mb", "700")
    assert result.exit_code == 0, result.output
    assert "+85261234567: 700 MB used" in result.output
    packs, readings = pack_state(app)
    assert [used for _, used in packs] == [700]
    with app.app_context():
        assert readings == [(usage.hk_day(utcnow()), 700)]


def test_simulate_usage_over_days_uses_more_on_travel_days_and_reads_each_day(app, card_with_pack):
    result = invoke(app, "--card", "+852 6123 4567", "--days", "5")
    assert result.exit_code == 0, result.output
    packs, readings = pack_state(app)
    assert len(readings) == 5
    totals = [used for _, used in readings]
    assert totals == sorted(totals) and totals[-1] == packs[0][1] > 0
    with app.app_context():
        today = usage.hk_day(utcnow())
    assert [day for day, _ in readings] == [today - timedelta(days=back) for back in range(4, -1, -1)]


def test_a_travel_day_uses_more_than_an_ordinary_one():
    from datetime import date

    days = [date(2026, 11, 1) + timedelta(days=n) for n in range(56)]
    fridays = [carrier_sim.daily_mb(1, day) for day in days if day.weekday() == 4]
    mondays_to_wednesdays = [carrier_sim.daily_mb(1, day) for day in days if day.weekday() < 3]
    assert sum(fridays) / len(fridays) > 1.5 * sum(mondays_to_wednesdays) / len(mondays_to_wednesdays)
    assert carrier_sim.daily_mb(1, days[0]) == carrier_sim.daily_mb(1, days[0])  # the same on every run


def test_usage_never_goes_past_what_the_pack_holds(app, card_with_pack):
    assert invoke(app, "--card", "61234567", "--mb", "20000").exit_code == 0
    packs, _ = pack_state(app)
    assert packs[0][1] == 10240


def test_simulate_usage_for_an_unknown_number_says_so_and_changes_nothing(app, card_with_pack):
    before = pack_state(app)
    result = invoke(app, "--card", "+852 6999 0000", "--mb", "100")
    assert result.exit_code != 0 and "no card with the number +85269990000" in result.output
    bad = invoke(app, "--card", "hello", "--mb", "100")
    assert bad.exit_code != 0 and "hello" in bad.output and "Traceback" not in bad.output
    both = invoke(app, "--card", "61234567", "--mb", "1", "--days", "2")
    assert both.exit_code != 0 and "not both" in both.output
    assert pack_state(app) == before


def test_simulated_usage_shows_on_the_account_page_at_once(app, client, card_with_pack):
    assert "10 GB</strong> left" in client.get(USAGE).text
    assert invoke(app, "--mb", "1024").exit_code == 0  # every bound card with a pack in use
    assert "9 GB</strong> left" in client.get(USAGE).text


def test_the_jobs_worker_records_one_reading_per_card_per_day(app, card_with_pack):
    with app.app_context():
        db.session.execute(db.update(CardPack).values(used_mb=1234))
        db.session.commit()
        assert jobs.record_usage_readings() == 1
        assert jobs.record_usage_readings() == 0  # already read today
        assert db.session.execute(select(UsageReading.card_id, UsageReading.used_mb)).all() == [(card_with_pack, 1234)]


def test_the_jobs_worker_leaves_a_card_the_carrier_cannot_answer_for_later(app, card_with_pack):
    app.config["CARRIER_DOWN"] = True
    with app.app_context():
        assert jobs.record_usage_readings() == 0
        assert db.session.scalar(select(func.count(UsageReading.id))) == 0
    app.config["CARRIER_DOWN"] = False
    with app.app_context():
        assert jobs.record_usage_readings() == 1


def test_the_sandbox_switch_makes_the_carrier_fail_for_every_worker(app, client, card_with_pack):
    page = client.get("/sandbox/carrier")
    assert page.status_code == 200 and "8985200123456789017" in page.text and "+852 6123 4567" in page.text
    response = post_form(client, "/sandbox/carrier", mode="down")
    assert response.status_code == 303
    other_worker = app.test_client()  # same database, another client
    assert 'value="down" checked' in other_worker.get("/sandbox/carrier").text
    assert "Usage not available right now" in client.get(USAGE).text
    post_form(client, "/sandbox/carrier", mode="normal")
    assert "10 GB</strong> left" in client.get(USAGE).text


def test_the_sandbox_switch_refuses_an_unknown_mode(app, client):
    assert post_form(client, "/sandbox/carrier", mode="explode").status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SandboxSetting)) == 0


def test_a_slow_carrier_still_answers(app, client, card_with_pack):
    app.config["CARRIER_SLOW_SECONDS"] = 0.2
    post_form(client, "/sandbox/carrier", mode="slow")
    assert "10 GB</strong> left" in client.get(USAGE).text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CarrierReading)) == 1


def test_every_demo_sim_has_a_valid_iccid_and_number(app):
    from rules.travellers import iccid, phones

    with app.test_request_context():
        for number, card_iccid in carrier_sim.DEMO_SIMS:
            assert phones.normalise(number).startswith("+")
            assert iccid.luhn_valid(card_iccid) and len(card_iccid) in (19, 20)


@pytest.mark.postgresql_only
def test_two_workers_record_each_cards_reading_exactly_once(app):
    from test_jobs import run_side_by_side

    from models import Account
    from rules.travellers import iccid

    with app.app_context():
        account = Account(phone="+85291234567")
        db.session.add(account)
        now = utcnow()
        for index in range(12):
            card = Card(
                msisdn=f"+8526123{index:04d}", iccid=iccid.with_check_digit(f"89852001{index:010d}"), account=account
            )
            db.session.add(card)
            db.session.flush()
            db.session.add(
                CardPack(
                    card_id=card.id,
                    data_mb=1024,
                    used_mb=index,
                    starts_at=now - timedelta(days=1),
                    ends_at=now + timedelta(days=1),
                )
            )
        db.session.commit()
    done = run_side_by_side(app, jobs.record_usage_readings)
    assert sum(done) == 12
    with app.app_context():
        per_card = db.session.execute(select(UsageReading.card_id, func.count()).group_by(UsageReading.card_id)).all()
        assert len(per_card) == 12 and {count for _, count in per_card} == {1}
