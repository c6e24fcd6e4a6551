"""Binding a SIM card to an account: its number, its ICCID, a nickname.

The carrier first checks that the number and the ICCID are one SIM (check_with_carrier): knowing a
card's ICCID never moves it to another number. Then holding the number is the proof: the signed-in
number binds at once, any other number once the code texted to it is typed back (rules/login_codes,
purpose BIND_CARD). Until then nothing is stored but the code, so an unproven attempt blocks
nobody. With the proof, the card moves to the prover's account whoever had it.
"""

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from extensions import db
from gateways import carrier as carriers
from models import Account, Card, utcnow
from rules.travellers import iccid as iccids
from rules.travellers import phones

MAX_CARDS = 10
MAX_NICKNAME = 40


class CardRefused(ValueError):
    """str() is a message for the user; `field` names the input at fault."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def parse(number_text: str, iccid_text: str, nickname: str = "") -> dict:
    """The typed card as {"msisdn", "iccid", "nickname"}, or CardRefused naming the field."""
    try:
        msisdn = phones.normalise(number_text)
    except phones.InvalidPhone as error:
        raise CardRefused(str(error), "number") from None
    try:
        iccid = iccids.normalise(iccid_text)
    except iccids.InvalidIccid as error:
        raise CardRefused(str(error), "iccid") from None
    return {"msisdn": msisdn, "iccid": iccid, "nickname": clean_nickname(nickname)}


def check_with_carrier(msisdn: str, iccid: str) -> None:
    """Refuse a number and an ICCID that are not one SIM at the carrier. Call it before anything is
    written: the carrier may take its time, and no lock or open write may wait on it (rules/)."""
    try:
        matched = carriers.carrier().sim_matches(msisdn, iccid)
    except carriers.CarrierUnavailable:
        raise CardRefused(
            _("We could not check the card with the carrier just now. Please try again in a few minutes.")
        ) from None
    if not matched:
        raise CardRefused(
            _("This ICCID is not the one of the card with this number. Check both on the card and try again."),
            "iccid",
        )


def needs_code(account: Account, msisdn: str) -> bool:
    """Signing in proved the account's own number; any other number needs a code texted to it."""
    return msisdn != account.phone


def check_room(account: Account, msisdn: str, iccid: str) -> None:
    """Refuse what needs no proof to refuse: this very card already here, or no room for another."""
    mine = [card for card in account.cards if card.msisdn == msisdn]
    if mine and mine[0].iccid == iccid:
        raise CardRefused(_("This card is already in your cards."), "number")
    if not mine and len(account.cards) >= MAX_CARDS:
        raise CardRefused(_("You can bind up to %(count)s cards.", count=MAX_CARDS))


def bind(account: Account, msisdn: str, iccid: str, nickname: str = "") -> Card:
    """Bind the card to `account` once holding `msisdn` is proven; the caller commits."""
    check_room(account, msisdn, iccid)
    try:
        with db.session.begin_nested():
            # Both rows locked in one statement, in id order (rules/ lock order): two bindings that
            # swap a number and an ICCID never hold one each and wait for the other.
            locked = db.session.scalars(
                select(Card).where(or_(Card.msisdn == msisdn, Card.iccid == iccid)).order_by(Card.id).with_for_update()
            ).all()
            card = next((row for row in locked if row.msisdn == msisdn), None)
            holder = next((row for row in locked if row.iccid == iccid), None)
            if holder is not None and holder is not card:
                holder.iccid = None  # unproven there: the ICCID is now known to be this number's
                db.session.flush()
            if card is None:
                card = Card(msisdn=msisdn, iccid=iccid)
                db.session.add(card)
            card.iccid, card.account_id, card.nickname, card.bound_at = iccid, account.id, nickname or None, utcnow()
            db.session.flush()
    except IntegrityError:  # the same card bound at the same moment elsewhere
        raise CardRefused(_("That card changed just now. Please try again."), "number") from None
    db.session.expire(account, ["cards"])
    return card


def clean_nickname(text: str | None) -> str:
    nickname = " ".join((text or "").split())
    if len(nickname) > MAX_NICKNAME:
        raise CardRefused(_("A nickname has at most %(count)s characters.", count=MAX_NICKNAME), "nickname")
    return nickname


def owned_card(account: Account, card_id: int) -> Card | None:
    """The card if `account` has it bound, else None (the view answers 404)."""
    card = db.session.get(Card, card_id)
    return card if card is not None and card.account_id == account.id else None


def rename(card: Card, nickname: str) -> None:
    card.nickname = clean_nickname(nickname) or None


def unbind(card: Card) -> None:
    card.account_id, card.nickname, card.bound_at = None, None, None
