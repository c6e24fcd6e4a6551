"""The rules for numbers a traveller types: mobile numbers and ICCIDs."""

import pytest

from app import create_app
from rules.travellers import iccid, phones

VALID_ICCID = iccid.with_check_digit("898520012345678901")  # 19 digits


@pytest.fixture(autouse=True)
def request_context():
    with create_app({"TESTING": True}).test_request_context():
        yield


@pytest.mark.parametrize(
    "typed, e164",
    [
        ("91234567", "+85291234567"),
        ("9123 4567", "+85291234567"),
        ("+852 6123-4567", "+85261234567"),
        ("00852 51234567", "+85251234567"),
        ("13812345678", "+8613812345678"),
        ("+86 138 1234 5678", "+8613812345678"),
        ("85291234567", "+85291234567"),  # the country code typed without "+"
        ("852 6123 4567", "+85261234567"),
        ("8613812345678", "+8613812345678"),
        ("86 138 1234 5678", "+8613812345678"),
    ],
)
def test_hong_kong_and_mainland_mobiles_are_normalised_to_e164(typed, e164):
    assert phones.normalise(typed) == e164


@pytest.mark.parametrize(
    "typed, says",
    [
        ("", "Enter a mobile number"),
        ("hello", "does not look like a phone number"),
        ("+1 415 555 0123", "Hong Kong (+852) and mainland China (+86)"),
        ("2123 4567", "not a valid mobile number for +852"),  # a Hong Kong landline
        ("9123456", "not a valid mobile number"),  # a digit short
        ("1" * 30, "too long"),
        ("5555 1234", "not in use in Hong Kong"),  # 8 digits, in a range Hong Kong has not given out
        ("85260000001", "not in use in Hong Kong"),
        ("+86 100 1234 5678", "not in use in mainland China"),
    ],
)
def test_bad_numbers_are_refused_with_a_message_that_says_why(typed, says):
    with pytest.raises(phones.InvalidPhone) as refused:
        phones.normalise(typed)
    assert says in str(refused.value)


def test_a_valid_iccid_is_accepted_with_spaces_as_printed():
    spaced = " ".join(VALID_ICCID[i : i + 4] for i in range(0, len(VALID_ICCID), 4))
    assert iccid.normalise(spaced) == VALID_ICCID


def test_twenty_digit_iccids_are_accepted():
    twenty = iccid.with_check_digit("8985200123456789012")
    assert len(twenty) == 20 and iccid.normalise(twenty) == twenty


@pytest.mark.parametrize(
    "typed, says",
    [
        ("", "Enter the ICCID"),
        ("8985 20AB", "digits only"),
        ("89852001234567", "19 or 20 digits; this one has 14"),
        (iccid.with_check_digit("123456789012345678"), "starts with 89"),
        (VALID_ICCID[:-1] + str((int(VALID_ICCID[-1]) + 1) % 10), "check digit"),
        ("8" * 41, "too long"),
    ],
)
def test_bad_iccids_are_refused_naming_the_mistake(typed, says):
    with pytest.raises(iccid.InvalidIccid) as refused:
        iccid.normalise(typed)
    assert says in str(refused.value)


def test_luhn_catches_a_swapped_pair_of_digits():
    swapped = VALID_ICCID[:9] + VALID_ICCID[10] + VALID_ICCID[9] + VALID_ICCID[11:]  # "12" -> "21"
    assert swapped != VALID_ICCID and not iccid.luhn_valid(swapped)
