"""How money, data, times and personal numbers look on a page (Jinja filters)."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

HONG_KONG = ZoneInfo("Asia/Hong_Kong")
CURRENCY_SYMBOLS = {"HKD": "HK$", "CNY": "¥"}


def money(cents: int, currency: str = "HKD") -> str:
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{CURRENCY_SYMBOLS.get(currency, currency + ' ')}{whole:,}.{part:02d}"


def data_amount(mb: int | None) -> str:
    if mb is None:
        return _("Unlimited")
    if mb >= 1024 and mb % 1024 == 0:
        return f"{mb // 1024} GB"
    if mb >= 1024:
        return f"{mb / 1024:.1f} GB"
    return f"{mb} MB"


def hk_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored naive-UTC time shown in Hong Kong time."""
    if value is None:
        return ""
    return value.replace(tzinfo=UTC).astimezone(HONG_KONG).strftime(fmt)


def mask_phone(e164: str) -> str:
    """+85291234567 -> +852 ****4567: enough to recognise, not to dial."""
    country = "+852" if e164.startswith("+852") else "+86" if e164.startswith("+86") else e164[:3]
    return f"{country} ****{e164[-4:]}"


def mask_iccid(iccid: str) -> str:
    return "•••• " + iccid[-4:]


def register(app) -> None:
    app.jinja_env.filters.update(
        money=money, data_amount=data_amount, hk_time=hk_time, mask_phone=mask_phone, mask_iccid=mask_iccid
    )
