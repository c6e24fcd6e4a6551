"""What a counter payment's form says, checked: the location (open, as the confirm step showed it), the
card (known, found by a partner by number and ICCID last 4, or new with a valid ICCID), the ID shown
(kind and last 4 characters only) and the free-text fields. Each refusal is a CounterRefused naming
its field; nothing here writes."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from extensions import db
from models import Card, Location
from rules.shops import places
from rules.travellers import iccid as iccids
from rules.travellers import phones


class CounterRefused(ValueError):
    """Nothing was recorded; str() is a message for people, `field` the input at fault."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.field = field


ID_KINDS = {
    "hkid": _l("Hong Kong identity card"),
    "passport": _l("Passport"),
    "home_return": _l("Home Return Permit"),
    "exit_entry": _l("Exit-entry permit"),
    "other": _l("Other ID"),
}
MAX_TEXT = 80


def hold_location(location: Location, version: int) -> None:
    """The location as the confirm step showed it, held (FOR SHARE) until this payment commits: an edit or a
    close in flight waits for it, and one that got there first makes this a refusal, not a payment there."""
    held = db.session.scalar(
        select(Location.id)
        .where(Location.id == location.id, Location.version == version, Location.closed_at.is_(None))
        .where(Location.temporarily_closed.is_(False))
        .with_for_update(read=True)
    )
    if held is None:
        raise CounterRefused(_l("This location's details changed meanwhile. Check the payment again."), "location")


def open_location(code: str) -> Location:
    location = places.by_code(code)
    if location is None or location.closed_at is not None:
        raise CounterRefused(_l("Choose the counter's location from the list."), "location")
    if location.temporarily_closed:
        raise CounterRefused(_l("This location is marked temporarily closed: it takes no payments."), "location")
    return location


def id_shown(kind: str, last4: str, required: bool) -> tuple[str | None, str | None]:
    """The ID's kind and last 4 characters (letters and digits): never more of it is taken."""
    kind, last4 = (kind or "").strip(), (last4 or "").strip().upper()
    if not kind and not last4 and not required:
        return None, None
    if kind not in ID_KINDS:
        raise CounterRefused(_l("Choose the kind of ID the traveller showed."), "id_kind")
    if not (len(last4) == 4 and last4.isascii() and last4.isalnum()):
        raise CounterRefused(
            _l("Type only the last 4 letters or digits of the ID, never the whole number."), "id_last4"
        )
    return kind, last4


def known_card(number_text: str, last4: str) -> Card:
    """A partner's look-up: the card with this number whose ICCID ends in these 4 digits, nothing else."""
    try:
        msisdn = phones.normalise(number_text)
    except phones.InvalidPhone as error:
        raise CounterRefused(str(error), "number") from None
    last4 = (last4 or "").strip()
    card = db.session.scalars(select(Card).where(Card.msisdn == msisdn)).first()
    if (
        not (len(last4) == 4 and last4.isascii() and last4.isdigit())
        or card is None
        or not (card.iccid or "").endswith(last4)
    ):
        raise CounterRefused(_l("No card matches this number and these last 4 ICCID digits."), "iccid_last4")
    return card


def clean_text(value: str | None, name: str) -> str | None:
    text = " ".join((value or "").split())
    if len(text) > MAX_TEXT:
        raise CounterRefused(_l("Keep this under %(count)s characters.", count=MAX_TEXT), name)
    return text or None


def card_or_new(number_text: str, iccid_text: str) -> Card:
    """The card with this number; a new Card (not yet saved) only when a valid ICCID comes with it."""
    try:
        msisdn = phones.normalise(number_text)
    except phones.InvalidPhone as error:
        raise CounterRefused(str(error), "number") from None
    card = db.session.scalars(select(Card).where(Card.msisdn == msisdn)).first()
    if card is not None:
        return card
    if not (iccid_text or "").strip():
        raise CounterRefused(_l("We have no card with this number. Add its ICCID to register it."), "iccid")
    try:
        iccid = iccids.normalise(iccid_text)
    except iccids.InvalidIccid as error:
        raise CounterRefused(str(error), "iccid") from None
    if db.session.scalar(select(Card.id).where(Card.iccid == iccid)) is not None:
        raise CounterRefused(_l("This ICCID belongs to another number. Check both."), "iccid")
    return Card(msisdn=msisdn, iccid=iccid)  # not saved: check() writes nothing
