"""ICCIDs: the 19-20 digit number printed on a SIM card, ending in a Luhn check digit."""

import unicodedata

from flask_babel import lazy_gettext as _l


class InvalidIccid(ValueError):
    """str() is a message for the user that names the mistake."""


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def normalise(text: str) -> str:
    """The ICCID as ASCII digits only (spaces and dashes as printed on cards are allowed).

    NFKC first (full-width digits become ASCII), then ASCII digits only: the unique column then
    sees one spelling per card, never the same ICCID in another script's digits.
    """
    raw = unicodedata.normalize("NFKC", text or "").strip()
    if len(raw) > 40:
        raise InvalidIccid(_l("That is too long for an ICCID: it has 19 or 20 digits."))
    digits = "".join(raw.split()).replace("-", "")
    if not digits:
        raise InvalidIccid(_l("Enter the ICCID printed on the card."))
    if any(ch.isdigit() and not ch.isascii() for ch in digits):
        raise InvalidIccid(_l("Type the ICCID with the digits 0-9."))
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidIccid(_l("An ICCID has digits only."))
    if len(digits) not in (19, 20):
        raise InvalidIccid(_l("An ICCID has 19 or 20 digits; this one has %(count)s.", count=len(digits)))
    if not digits.startswith("89"):
        raise InvalidIccid(_l("An ICCID starts with 89. Check the number on the card."))
    if not luhn_valid(digits):
        raise InvalidIccid(
            _l("One of the digits is wrong (the check digit does not match). Check the number on the card.")
        )
    return digits


def with_check_digit(body: str) -> str:
    """Append the Luhn check digit to `body` (used for demo data and tests)."""
    for digit in "0123456789":
        if luhn_valid(body + digit):
            return body + digit
    raise AssertionError("unreachable: one digit always fits")
