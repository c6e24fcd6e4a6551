"""Money and times as a traveller reads them, in each of the three languages (through Babel)."""

import re
from datetime import datetime

import pytest
from conftest import last_sms, make_order, run_jobs
from flask_babel import force_locale
from sqlalchemy import select

from extensions import db
from gateways import alipay_gateway
from models import Order
from rules.payments import payment_events
from rules.text.formatting import data_amount, hk_time, money

LOCALES = ["en", "zh_Hans", "zh_Hant"]
NOON_UTC = datetime(2026, 11, 25, 4, 5)  # 12:05 in Hong Kong
LATE_UTC = datetime(2026, 11, 25, 17, 30)  # 01:30 the next day in Hong Kong


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(
    "cents, currency, shown",
    [
        (5800, "HKD", "HK$58.00"),
        (123456789, "HKD", "HK$1,234,567.89"),
        (5, "HKD", "HK$0.05"),
        (0, "HKD", "HK$0.00"),
        (-2050, "HKD", "-HK$20.50"),
        (5800, "CNY", "CN¥58.00"),
        (100000, "CNY", "CN¥1,000.00"),
    ],
)
def test_amounts_show_their_currency_symbol_and_two_decimals_in_every_language(ctx, locale, cents, currency, shown):
    with force_locale(locale):
        assert money(cents, currency) == shown


@pytest.mark.parametrize("locale", LOCALES)
def test_a_yuan_amount_never_shows_a_bare_yen_sign(ctx, locale):
    with force_locale(locale):
        assert re.fullmatch(r"CN¥\d+\.\d\d", money(8800, "CNY"))


def test_outside_a_request_amounts_and_times_are_in_english(app):
    with app.app_context():
        assert money(5800) == "HK$58.00" and hk_time(NOON_UTC) == "Nov 25, 2026, 12:05"


@pytest.mark.parametrize(
    "locale, style, shown",
    [
        ("en", "datetime", "Nov 25, 2026, 12:05"),
        ("zh_Hans", "datetime", "2026年11月25日 12:05"),
        ("zh_Hant", "datetime", "2026年11月25日 12:05"),
        ("en", "date", "Nov 25, 2026"),
        ("zh_Hant", "date", "2026年11月25日"),
        ("en", "time", "12:05"),
        ("en", "%Y-%m-%d", "Nov 25, 2026"),  # an older template's pattern still reads well
    ],
)
def test_times_are_shown_in_hong_kong_time_in_the_readers_language(ctx, locale, style, shown):
    with force_locale(locale):
        assert hk_time(NOON_UTC, style) == shown


def test_hong_kong_time_can_be_the_next_day(ctx):
    with force_locale("en"):
        assert hk_time(LATE_UTC, "date") == "Nov 26, 2026" and hk_time(LATE_UTC, "time") == "01:30"
        assert hk_time(None) == ""


def test_data_amounts(ctx):
    assert (data_amount(5120), data_amount(1536), data_amount(500)) == ("5 GB", "1.5 GB", "500 MB")


def test_the_text_alipay_signs_comes_from_the_sdk_and_is_the_documented_one():
    params = {"b": "2", "a": "1", "sign": "x", "sign_type": "RSA2", "subject": "漫遊 top-up", "empty": ""}
    assert alipay_gateway.notification_sign_content(params) == "a=1&b=2&empty=&subject=漫遊 top-up"
    assert (
        alipay_gateway.sign_content(params, leave_out=("sign",)) == "a=1&b=2&empty=&sign_type=RSA2&subject=漫遊 top-up"
    )


@pytest.mark.parametrize(
    "locale, words",
    [
        ("en", "paid, HK$58.00 with Alipay."),
        ("zh_Hans", "已付款 HK$58.00（支付宝）"),
        ("zh_Hant", "已付款 HK$58.00（支付寶）"),
    ],
)
def test_the_paid_sms_shows_the_amount_in_the_travellers_language(app, locale, words):
    number = make_order(app, locale=locale)
    with app.app_context():  # as a notification is applied: no request, the order's locale
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        payment_events.apply_paid(order, "T" + number[-6:], "notification", {})
        db.session.commit()
    run_jobs(app)  # the worker's claim queues the SMS
    body = last_sms(app, "+85261234567")
    assert number in body and words in body and "+852 ****4567" in body, body
