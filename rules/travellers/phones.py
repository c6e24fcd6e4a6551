"""Mobile numbers we serve: Hong Kong (+852, 8 digits) and mainland China (+86, 11 digits)."""

import unicodedata

import phonenumbers
from flask_babel import lazy_gettext as _l
from phonenumbers import PhoneNumberType

ALLOWED_REGIONS = {852: "HK", 86: "CN"}
# Digits typed without "+" that start with a country code we serve, at that country's mobile length:
# "85291234567" is +852 9123 4567, not an 11-digit mainland number.
COUNTRY_PREFIXES = (("852", 8), ("86", 11))
NATIONAL_LENGTHS = {852: 8, 86: 11}
NOT_IN_USE = {
    852: _l("This number is not in use in Hong Kong. Check the digits, or use another number."),
    86: _l("This number is not in use in mainland China. Check the digits, or use another number."),
}
MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


class InvalidPhone(ValueError):
    """The text is not a Hong Kong or mainland mobile number; str() is a message for the user."""


def normalise(text: str) -> str:
    """Return the number in E.164 form, e.g. '9123 4567' -> '+85291234567'.

    A number without a country code is read as a Hong Kong number if it has 8 digits and as a
    mainland one if it has 11; digits starting with 852 or 86 at the length of a number of that
    country with its code (852 + 8, 86 + 11) are read as having the code without the "+".
    """
    # NFKC turns full-width digits into ASCII ones; other scripts' digits are refused, so one
    # number has one spelling (the parser would accept them, the rest of the site might not).
    raw = unicodedata.normalize("NFKC", text or "").strip()
    if not raw:
        raise InvalidPhone(_l("Enter a mobile number."))
    if any(ch.isdigit() and not ch.isascii() for ch in raw):
        raise InvalidPhone(_l("Type the number with the digits 0-9."))
    if len(raw) > 24:
        raise InvalidPhone(_l("That is too long for a mobile number."))
    digits = "".join(ch for ch in raw if ch.isdigit())
    if not raw.startswith(("+", "00")):
        for prefix, length in COUNTRY_PREFIXES:
            if digits.startswith(prefix) and len(digits) == len(prefix) + length:
                raw = "+" + digits
                break
    default_region = "CN" if not raw.startswith(("+", "00")) and len(digits) == 11 else "HK"
    try:
        number = phonenumbers.parse(raw.replace("00", "+", 1) if raw.startswith("00") else raw, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone(_l("That does not look like a phone number.")) from None
    if number.country_code not in ALLOWED_REGIONS:
        raise InvalidPhone(_l("We serve Hong Kong (+852) and mainland China (+86) mobile numbers only."))
    if not phonenumbers.is_valid_number(number) and len(str(number.national_number)) == NATIONAL_LENGTHS.get(
        number.country_code
    ):
        # The right length, but in a range the numbering plan has not given out (e.g. 5555 1234).
        raise InvalidPhone(NOT_IN_USE[number.country_code])
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in MOBILE_TYPES:
        raise InvalidPhone(_l("That is not a valid mobile number for +%(code)s.", code=number.country_code))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
