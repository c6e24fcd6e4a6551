"""Every stored code has a name for people, so a staff page never shows a raw code."""

import pytest

from blueprints.staff import labels


@pytest.mark.parametrize("codes", list(labels.LABELLED), ids=lambda codes: codes.__name__)
def test_every_code_has_a_name(codes):
    assert set(labels.LABELLED[codes]) == set(codes)


def test_a_row_read_back_as_a_string_finds_its_name():
    assert labels.CAUSES["counter"] == labels.CAUSES[labels.TransitionCause.COUNTER]
    assert labels.NOTIFICATION_OUTCOMES["refund:paid_after_cancel"]
