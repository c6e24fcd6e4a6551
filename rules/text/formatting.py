"""How money, data, times and personal numbers look on a page (Jinja filters), through Babel.

Money: the reader's locale lays out the number (grouping, sign), always with two decimals (amounts are
cents). The symbol is fixed per currency, the same in every language, so a traveller never mistakes one
currency for another: HKD is HK$ and CNY is CN¥ (Simplified Chinese alone would write a bare ¥).
Times are stored in naive UTC and shown in Hong Kong time, in the reader's language.
"""

from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

import phonenumbers
from babel import Locale
from babel.dates import DateTimePattern, format_skeleton, match_skeleton
from babel.dates import parse_pattern as parse_time_pattern
from babel.numbers import NumberPattern, format_decimal, parse_pattern
from flask_babel import get_locale
from flask_babel import gettext as _

HONG_KONG = ZoneInfo("Asia/Hong_Kong")
CURRENCY_SYMBOLS = {"HKD": "HK$", "CNY": "CN¥"}
# Babel skeletons: each locale orders and spells the parts its own way ("Nov 25, 2026", "2026年11月25日").
TIME_STYLES = {"date": "yMMMd", "time": "Hm", "time_seconds": "Hms"}
# strftime patterns from templates written before Babel did the formatting.
_OLD_PATTERNS = {"%Y-%m-%d %H:%M": "datetime", "%Y-%m-%d": "date", "%H:%M": "time", "%H:%M:%S": "time_seconds"}


# The days anyone may type into a search, an export or an admin form: far enough either way for any
# order or offer, and never near date.min / date.max, where a day plus one or a time zone overflows.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def typed_day(text: str | None) -> date | None:
    """A day typed as YYYY-MM-DD (a date field sends that) between FIRST_DAY and LAST_DAY; else None."""
    try:
        day = date.fromisoformat((text or "").strip()[:10]) if text and text.isascii() else None
    except ValueError:
        return None
    return day if day is not None and FIRST_DAY <= day <= LAST_DAY else None


def hk_day_start(day: date) -> datetime:
    """Midnight in Hong Kong on `day`, as the naive UTC the database holds."""
    return datetime.combine(day, time(), HONG_KONG).astimezone(UTC).replace(tzinfo=None)


def _locale() -> Locale:
    return get_locale() or Locale.parse("en")  # outside a request (jobs, shell): English


@lru_cache(maxsize=64)
def _money_pattern(locale: Locale, currency: str) -> NumberPattern:
    # Parsed once per language and currency: a page shows dozens of amounts.
    pattern = locale.currency_formats["standard"].pattern
    symbol = CURRENCY_SYMBOLS.get(currency)
    if symbol is not None:
        pattern = pattern.replace("¤", f"'{symbol}'")  # a quoted literal: not the locale's symbol
    return parse_pattern(pattern)


def money(cents: int, currency: str = "HKD") -> str:
    """1234550, "HKD" -> "HK$12,345.50" (with the locale's grouping and minus sign)."""
    return _money_text(_locale(), cents, currency)


@lru_cache(maxsize=4096)
def _money_text(locale: Locale, cents: int | Decimal, currency: str) -> str:
    # Remembered: a page shows the same few prices again and again (a pure function of its arguments).
    # What babel.numbers.format_currency(..., format=pattern, currency_digits=False) does, minus the parsing.
    return _money_pattern(locale, currency).apply(
        Decimal(cents) / 100, locale, currency=currency, currency_digits=False
    )


def data_amount(mb: int | None) -> str:
    if mb is None:
        return _("Unlimited")
    if mb >= 1024 and mb % 1024 == 0:
        return f"{mb // 1024} GB"
    if mb >= 1024:
        return format_decimal(round(mb / 1024, 1), "#,##0.0", locale=_locale()) + " GB"
    return f"{mb} MB"


def hk_time(value: datetime | None, style: str = "datetime") -> str:
    """A stored naive-UTC time in Hong Kong time: style "datetime" (default), "date", "time" or "time_seconds"."""
    if value is None:
        return ""
    return _hk_time_text(_locale(), value, _OLD_PATTERNS.get(style, style))


@lru_cache(maxsize=4096)
def _hk_time_text(locale: Locale, value: datetime, style: str) -> str:
    # Remembered: an orders page shows the same stored times on every visit (a pure function of its arguments).
    moment = value.replace(tzinfo=UTC).astimezone(HONG_KONG)
    if style == "datetime":
        date = _time_pattern(locale, TIME_STYLES["date"]).apply(moment, locale)
        time = _time_pattern(locale, TIME_STYLES["time"]).apply(moment, locale)
        return locale.datetime_formats["medium"].format(time, date)
    return _time_pattern(locale, TIME_STYLES[style]).apply(moment, locale)


@lru_cache(maxsize=64)
def _time_pattern(locale: Locale, skeleton: str) -> DateTimePattern:
    """What babel.dates.format_skeleton looks up (with its fuzzy match), once per language and style."""
    skeletons = locale.datetime_skeletons
    matched = skeleton if skeleton in skeletons else match_skeleton(skeleton, skeletons)
    return parse_time_pattern(skeletons[matched or skeleton])


def short_date(day: date) -> str:
    """A calendar day without the year, in the reader's language: "3 Dec", "12月3日"."""
    return format_skeleton("MMMd", day, locale=_locale())


def phone(e164: str) -> str:
    """+85261234567 -> +852 6123 4567, as the numbering plan groups it (for the number's owner)."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164


def mask_phone(e164: str) -> str:
    """+85291234567 -> +852 ****4567: enough to recognise, not to dial."""
    country = "+852" if e164.startswith("+852") else "+86" if e164.startswith("+86") else e164[:3]
    return f"{country} ****{e164[-4:]}"


def mask_iccid(iccid: str) -> str:
    return "•••• " + iccid[-4:]
