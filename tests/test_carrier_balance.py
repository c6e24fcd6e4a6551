"""The carrier interface's balance: what is on a card, as the simulated carrier reports it."""

from datetime import timedelta

import pytest

from extensions import db
from gateways import carrier
from models import Card, CardPack, utcnow


def add_card_with_pack(data_mb, used_mb) -> Card:
    card = Card(msisdn="+85261234567", iccid="8985200000000000001")
    now = utcnow()
    db.session.add(card)
    db.session.flush()
    db.session.add(
        CardPack(card_id=card.id, data_mb=data_mb, used_mb=used_mb, starts_at=now, ends_at=now + timedelta(days=7))
    )
    db.session.flush()
    return card


def test_the_simulated_carrier_reports_what_is_left_of_each_pack(app):
    with app.app_context():
        card = add_card_with_pack(data_mb=3072, used_mb=1000)
        balance = carrier.carrier().balance(card)
        assert balance.msisdn == "+85261234567"
        assert [(p.data_mb, p.used_mb, p.left_mb) for p in balance.packs] == [(3072, 1000, 2072)]
        assert abs((utcnow() - balance.read_at).total_seconds()) < 5


def test_an_unlimited_pack_has_no_total_and_no_left_without_fair_use(app):
    with app.app_context():
        card = add_card_with_pack(data_mb=None, used_mb=500)
        (pack,) = carrier.carrier().balance(card).packs
        assert pack.data_mb is None and pack.left_mb is None and pack.used_mb == 500


@pytest.mark.parametrize("settings", [{"CARRIER_DOWN": True}, {"CARRIER": "manual"}])
def test_a_carrier_that_cannot_answer_raises_carrier_unavailable(app_with, settings):
    app = app_with(**settings)
    with app.app_context():
        card = add_card_with_pack(data_mb=1024, used_mb=0)
        with pytest.raises(carrier.CarrierUnavailable):
            carrier.carrier().balance(card)
