"""Reminder texts: opt-in per card, at the thresholds, once per pack, never in quiet hours, with a link
that opens the renew flow for that card only while it is still on the account it was sent for."""

import re
from datetime import datetime, timedelta

import pytest
from conftest import csrf_token, post_form
from sqlalchemy import func, select
from test_jobs import run_side_by_side

import jobs
from extensions import db
from models import Account, Card, CardPack, Order, Plan, ReminderSetting, RenewLink, SmsMessage
from rules.travellers import reminders

PHONE = "+85291234567"
CARD = "+85261234567"
# Fixed clocks, naive UTC: Hong Kong is UTC+8.
NOON_HK = datetime(2026, 11, 28, 4, 0)
LATE_EVENING_HK = datetime(2026, 11, 28, 15, 30)  # 23:30 in Hong Kong
EIGHT_NEXT_MORNING_HK = datetime(2026, 11, 29, 0, 0)
LINK = re.compile(r"http://[^ ]+/r/([\w-]+)")


def card_with_pack(
    app, *, plan_code="gba-7d", used_share=0.0, ends_in=timedelta(days=5), msisdn=CARD, phone=PHONE, n=1
) -> int:
    """A card bound to `phone`'s account with a pack of `plan_code` that ends `ends_in` after NOON_HK."""
    with app.app_context():
        account = db.session.scalars(select(Account).where(Account.phone == phone)).first()
        if account is None:
            account = Account(phone=phone)
            db.session.add(account)
            db.session.flush()
        plan = db.session.scalars(select(Plan).where(Plan.code == plan_code)).one()
        card = Card(msisdn=msisdn, iccid=f"89852000000000{n:05d}", account_id=account.id, bound_at=NOON_HK)
        db.session.add(card)
        db.session.flush()
        end = NOON_HK + ends_in
        start = end - timedelta(days=plan.days)
        order = Order(
            number=f"RR261128-PACK{n:02d}",
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
        limit = plan.data_mb or plan.fair_use_mb
        used = round(limit * used_share)
        db.session.add(
            CardPack(
                card_id=card.id, order_id=order.id, data_mb=plan.data_mb, used_mb=used, starts_at=start, ends_at=end
            )
        )
        db.session.commit()
        return card.id


def turn_on(app, card_id, locale="en", phone=PHONE):
    with app.app_context():
        card = db.session.get(Card, card_id)
        account = db.session.scalars(select(Account).where(Account.phone == phone)).one()
        reminders.set_enabled(card, account, True, locale)
        db.session.commit()


def reminder_texts(app) -> list[SmsMessage]:
    with app.app_context():
        texts = list(db.session.scalars(select(SmsMessage).where(SmsMessage.purpose == "reminder")))
        db.session.expunge_all()
        return texts


def kinds(app) -> list[str]:
    return sorted(message.dedupe_key.split(":")[1] for message in reminder_texts(app))


def run_job(app, now=NOON_HK) -> int:
    with app.app_context():
        return jobs.send_reminders(now)


# --- opt-in -----------------------------------------------------------------------------------


def test_reminders_are_off_until_the_traveller_turns_them_on(app, plans):
    card_card = card_with_pack(app, used_share=0.95, ends_in=timedelta(hours=5))
    assert run_job(app) == 0 and reminder_texts(app) == []
    turn_on(app, card_card)
    assert run_job(app) == 2 and kinds(app) == ["data_low", "ends_soon"]


def test_the_account_page_shows_each_card_with_reminders_off_by_default(app, client, plans, sign_in):
    sign_in(PHONE)
    card_id = card_with_pack(app)
    page = client.get("/account")
    assert page.status_code == 200
    switch = re.search(rf'<form[^>]*id="reminders-{card_id}".*?</form>', page.text, re.S)
    assert switch is not None, "the card's block on /account has its reminder switch"
    assert f'action="/account/cards/{card_id}/reminders"' in switch.group(0)
    assert 'name="reminders" value="on"' in switch.group(0)
    assert "Reminders off." in switch.group(0) and "Turn reminders on" in switch.group(0)
    assert "Turn reminders" not in client.get("/cards").text  # one place for the switch: the account page


def test_the_account_page_turns_reminders_on_and_off_without_javascript(app, client, plans, sign_in):
    sign_in(PHONE)
    card_id = card_with_pack(app)
    response = post_form(client, "/account", f"/account/cards/{card_id}/reminders", reminders="on")
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    page = client.get("/account")
    assert "Reminders turned on." in page.text and "Turn reminders off" in page.text
    assert 'name="reminders" value="off"' in page.text
    with app.app_context():
        assert db.session.scalars(select(ReminderSetting.enabled)).one() is True
    response = post_form(client, "/account", f"/account/cards/{card_id}/reminders", reminders="off")
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    assert "Reminders turned off." in client.get("/account").text
    with app.app_context():
        assert db.session.scalars(select(ReminderSetting.enabled)).one() is False


def test_the_reminder_switch_on_the_account_page_swaps_itself_with_htmx_and_keeps_the_language(
    app, client, plans, sign_in
):
    sign_in(PHONE)
    card_id = card_with_pack(app)
    client.set_cookie("lang", "zh_Hant")
    token = csrf_token(client.get("/account").text)
    response = client.post(
        f"/account/cards/{card_id}/reminders",
        data={"csrf_token": token, "reminders": "on"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and "<html" not in response.text
    assert f'id="reminders-{card_id}"' in response.text and 'role="status"' in response.text
    assert 'name="reminders" value="off"' in response.text  # the swapped switch now turns them off
    with app.app_context():
        setting = db.session.scalars(select(ReminderSetting)).one()
        assert (setting.enabled, setting.locale) == (True, "zh_Hant")


def test_the_old_reminder_url_on_the_cards_page_is_gone(app, client, plans, sign_in):
    sign_in(PHONE)
    card_id = card_with_pack(app)
    response = post_form(client, "/account", f"/cards/{card_id}/reminders", reminders="on")
    assert response.status_code in (404, 405)
    with app.app_context():
        assert db.session.scalar(select(func.count(ReminderSetting.id))) == 0


@pytest.mark.parametrize("htmx", [False, True], ids=["no-js", "htmx"])
def test_a_reminder_setting_for_someone_elses_card_is_404_and_changes_nothing(app, client, plans, sign_in, htmx):
    others = card_with_pack(app, phone="+85291110000")
    sign_in(PHONE)
    card_with_pack(app, msisdn="+85261234568", n=2)  # the page has a switch of its own
    token = csrf_token(client.get("/account").text)
    assert f"/account/cards/{others}/reminders" not in client.get("/account").text
    response = client.post(
        f"/account/cards/{others}/reminders",
        data={"csrf_token": token, "reminders": "on"},
        headers={"HX-Request": "true"} if htmx else {},
    )
    assert response.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count(ReminderSetting.id))) == 0


@pytest.mark.parametrize("value", ["", "yes", "ON", "1" * 300])
def test_a_reminder_setting_that_is_not_on_or_off_is_refused(app, client, plans, sign_in, value):
    sign_in(PHONE)
    card_id = card_with_pack(app)
    response = post_form(client, "/account", f"/account/cards/{card_id}/reminders", reminders=value)
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count(ReminderSetting.id))) == 0


def test_a_reminder_setting_without_its_csrf_token_is_refused(app, client, plans, sign_in):
    sign_in(PHONE)
    card_id = card_with_pack(app)
    assert client.post(f"/account/cards/{card_id}/reminders", data={"reminders": "on"}).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count(ReminderSetting.id))) == 0


# --- thresholds -------------------------------------------------------------------------------


@pytest.mark.parametrize("used_share, expected", [(0.79, []), (0.80, []), (0.81, ["data_low"]), (1.0, ["data_low"])])
def test_data_low_is_texted_once_less_than_20_percent_is_left(app, plans, used_share, expected):
    turn_on(app, card_with_pack(app, used_share=used_share))
    run_job(app)
    assert kinds(app) == expected


def test_an_unlimited_pack_is_reminded_by_its_fair_use_allowance(app, plans):
    turn_on(app, card_with_pack(app, plan_code="trio-3d-unl", used_share=0.9, ends_in=timedelta(days=2)))
    run_job(app)
    assert kinds(app) == ["data_low"]


@pytest.mark.parametrize(
    "plan_code, ends_in, expected",
    [
        ("gba-7d", timedelta(days=3, hours=1), []),
        ("gba-7d", timedelta(days=2, hours=23), ["ends_soon"]),
        ("gba-3d", timedelta(days=1, hours=1), []),  # 3 days or less: within 1 day only
        ("gba-3d", timedelta(hours=23), ["ends_soon"]),
        ("hk-1d", timedelta(hours=2), ["ends_soon"]),
    ],
)
def test_ends_soon_is_texted_within_3_days_or_1_day_for_short_packs(app, plans, plan_code, ends_in, expected):
    turn_on(app, card_with_pack(app, plan_code=plan_code, ends_in=ends_in))
    run_job(app)
    assert kinds(app) == expected


def test_each_reminder_is_texted_at_most_once_per_pack(app, plans):
    turn_on(app, card_with_pack(app, used_share=0.9, ends_in=timedelta(days=1)))
    assert run_job(app) == 2
    for later in (timedelta(minutes=20), timedelta(hours=3), timedelta(hours=20)):
        assert run_job(app, NOON_HK + later) == 0
    assert kinds(app) == ["data_low", "ends_soon"]


def test_a_pack_already_followed_by_another_is_not_reminded_to_end(app, plans):
    card_id = card_with_pack(app, ends_in=timedelta(days=1))
    with app.app_context():
        pack = db.session.scalars(select(CardPack)).one()
        db.session.add(
            CardPack(card_id=card_id, data_mb=1024, starts_at=pack.ends_at, ends_at=pack.ends_at + timedelta(days=7))
        )
        db.session.commit()
    turn_on(app, card_id)
    run_job(app)
    assert kinds(app) == []


def test_a_reminder_is_in_the_travellers_language_with_a_short_link(app, plans):
    turn_on(app, card_with_pack(app, used_share=0.9), locale="zh_Hant")
    run_job(app)
    (text,) = reminder_texts(app)
    assert text.to_phone == CARD and "****4567" in text.body and LINK.search(text.body)
    assert "剩餘" in text.body  # Hong Kong wording


def test_the_carrier_being_down_queues_nothing_and_tries_again_later(app_with, plans):
    app = app_with(CARRIER_DOWN=True)
    turn_on(app, card_with_pack(app, used_share=0.9))
    assert run_job(app) == 0 and reminder_texts(app) == []
    with app.app_context():
        assert db.session.scalars(select(ReminderSetting.next_check_at)).one() == NOON_HK + reminders.CHECK_EVERY


# --- quiet hours ------------------------------------------------------------------------------


def test_no_reminder_between_23_00_and_08_00_it_waits_until_08_00(app, plans):
    turn_on(app, card_with_pack(app, used_share=0.9, ends_in=timedelta(days=5)))
    assert run_job(app, LATE_EVENING_HK) == 0
    with app.app_context():
        assert db.session.scalars(select(ReminderSetting.next_check_at)).one() == EIGHT_NEXT_MORNING_HK
    assert run_job(app, EIGHT_NEXT_MORNING_HK - timedelta(minutes=1)) == 0  # 07:59
    assert reminder_texts(app) == []
    assert run_job(app, EIGHT_NEXT_MORNING_HK) == 1 and kinds(app) == ["data_low"]


@pytest.mark.parametrize(
    "utc, quiet",
    [
        (datetime(2026, 11, 28, 14, 59), False),  # 22:59 HK
        (datetime(2026, 11, 28, 15, 0), True),  # 23:00
        (datetime(2026, 11, 28, 19, 0), True),  # 03:00
        (datetime(2026, 11, 28, 23, 59), True),  # 07:59
        (datetime(2026, 11, 29, 0, 0), False),  # 08:00
    ],
)
def test_quiet_hours_are_23_00_to_08_00_hong_kong_time(utc, quiet):
    assert (reminders.quiet_until(utc) is not None) is quiet


# --- the link ---------------------------------------------------------------------------------


def a_link(app) -> str:
    turn_on(app, card_with_pack(app, used_share=0.9))
    run_job(app)
    return "/r/" + LINK.search(reminder_texts(app)[0].body).group(1)


def test_the_link_leads_to_sign_in_and_then_the_renew_flow_for_that_card(app, client, plans):
    link = a_link(app)
    with app.app_context():
        card_id = db.session.scalars(select(Card.id)).one()
    response = client.get(link)
    assert response.status_code == 303
    assert (
        response.headers["Location"].startswith("/login?next=") and f"card%3D{card_id}" in response.headers["Location"]
    )


def test_the_link_goes_straight_to_the_renew_flow_when_signed_in_as_that_account(app, client, plans, sign_in):
    link = a_link(app)
    sign_in(PHONE)
    with app.app_context():
        card_id = db.session.scalars(select(Card.id)).one()
    response = client.get(link)
    assert response.status_code == 303 and response.headers["Location"] == f"/checkout?card={card_id}"


@pytest.mark.parametrize("now_holder", [None, "+85291110000"])
def test_a_link_for_a_card_unbound_or_bound_to_someone_else_opens_nothing(app, client, plans, now_holder):
    link = a_link(app)
    with app.app_context():
        card = db.session.scalars(select(Card)).one()
        if now_holder:
            other = Account(phone=now_holder)
            db.session.add(other)
            db.session.flush()
        card.account_id = other.id if now_holder else None
        db.session.commit()
    response = client.get(link)
    assert response.status_code == 404 and "This link opens nothing now" in response.text
    assert "Location" not in response.headers


def test_an_unknown_link_opens_nothing(client, plans):
    assert client.get("/r/not-a-token").status_code == 404
    assert client.get("/r/" + "x" * 300).status_code == 404


def test_an_unbound_card_is_not_reminded(app, plans):
    card_id = card_with_pack(app, used_share=0.9)
    turn_on(app, card_id)
    with app.app_context():
        db.session.get(Card, card_id).account_id = None
        db.session.commit()
    assert run_job(app) == 0


# --- two workers ------------------------------------------------------------------------------


@pytest.mark.postgresql_only
def test_two_workers_text_each_reminder_once(app, plans):
    cards = 12
    for n in range(cards):
        turn_on(app, card_with_pack(app, used_share=0.9, ends_in=timedelta(days=1), msisdn=f"+8526123{n:04d}", n=n))
    queued = run_side_by_side(app, lambda: jobs.send_reminders(NOON_HK))
    assert sum(queued) == 2 * cards
    with app.app_context():
        keys = list(db.session.scalars(select(SmsMessage.dedupe_key).where(SmsMessage.purpose == "reminder")))
        assert len(keys) == len(set(keys)) == 2 * cards
        assert db.session.scalar(select(func.count(RenewLink.id))) == 2 * cards
    # Both again at once, later the same day: nothing new.
    assert sum(run_side_by_side(app, lambda: jobs.send_reminders(NOON_HK + timedelta(hours=1)))) == 0
