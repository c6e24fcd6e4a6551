"""Amounts typed by staff ("12.5", "12.50", "HK$1,234.50") into integer cents, or a clear refusal."""

import re

from flask_babel import lazy_gettext as _l

_AMOUNT = re.compile(r"(?:HK\$|HKD|\$)?\s*(?P<whole>\d{1,3}(?:,\d{3})+|\d{1,9})(?:\.(?P<part>\d{1,2}))?", re.ASCII)
_OVER_PRECISE = re.compile(r"(?:HK\$|HKD|\$)?\s*[\d,]+\.\d{3,}", re.ASCII)
# Amounts are integer cents in the database (32 bits on PostgreSQL: HK$21 million at most).
MAX_CENTS = 10_000_000 * 100


class AmountRefused(ValueError):
    """str() is a message for people."""


def to_cents(text: str | None) -> int:
    """The amount in cents (0 allowed: callers decide). Refuses signs, letters and more than two decimals."""
    compact = (text or "").strip().upper()
    if not compact:
        raise AmountRefused(_l("Enter an amount."))
    if compact.startswith("-") or "-" in compact:
        raise AmountRefused(_l("The amount cannot be negative."))
    if _OVER_PRECISE.fullmatch(compact):
        raise AmountRefused(_l("Amounts have at most two decimals (cents)."))
    match = _AMOUNT.fullmatch(compact)
    if match is None:
        raise AmountRefused(_l("Enter an amount like 12.50."))
    whole = int(match["whole"].replace(",", ""))
    part = (match["part"] or "0").ljust(2, "0")
    cents = whole * 100 + int(part)
    if cents > MAX_CENTS:
        raise AmountRefused(_l("Enter an amount of at most HK$10,000,000."))
    return cents
