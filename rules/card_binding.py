"""Binding a SIM card to an account: its number, its ICCID, a nickname."""

from flask_babel import gettext as _
from sqlalchemy import select

from extensions import db
from models import Account, Card, utcnow
from rules import iccid as iccids
from rules import phones

MAX_CARDS = 10
MAX_NICKNAME = 40


class CardRefused(ValueError):
    """str() is a message for the user; `field` names the input at fault."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def bind(account: Account, number_text: str, iccid_text: str, nickname: str = "") -> Card:
    """Bind the card with this number and ICCID to `account`; the caller commits."""
    try:
        msisdn = phones.normalise(number_text)
    except phones.InvalidPhone as error:
        raise CardRefused(str(error), "number") from None
    try:
        iccid = iccids.normalise(iccid_text)
    except iccids.InvalidIccid as error:
        raise CardRefused(str(error), "iccid") from None
    nickname = clean_nickname(nickname)
    card = db.session.scalars(select(Card).where(Card.msisdn == msisdn).with_for_update()).first()
    if card is None:
        if db.session.scalar(select(Card.id).where(Card.iccid == iccid)):
            raise CardRefused(_("This ICCID belongs to another number. Check both numbers."), "iccid")
        card = Card(msisdn=msisdn, iccid=iccid)
        db.session.add(card)
    elif card.iccid != iccid:
        raise CardRefused(
            _("This ICCID does not match the card with that number. Check the number on the card."), "iccid"
        )
    elif card.account_id == account.id:
        raise CardRefused(_("This card is already in your cards."), "number")
    elif card.account_id is not None:
        raise CardRefused(
            _("This card is bound to another account. Unbind it there first, or ask our support."), "number"
        )
    if len(account.cards) >= MAX_CARDS:
        raise CardRefused(_("You can bind up to %(count)s cards.", count=MAX_CARDS))
    card.account_id, card.nickname, card.bound_at = account.id, nickname or None, utcnow()
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
