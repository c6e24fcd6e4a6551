"""Staff's one search box over orders: it works out what was typed and answers from an index.

What the box understands (`SearchPage.kind`):
  order_number  RR261125-7KQ4M2 in any case, with spaces, without the dash, O for 0, I or L for 1
  phone         a Hong Kong or mainland mobile in any common spelling, also one the numbering plan
                no longer lists; matches the card's number and the ordering account's number
  iccid         19-20 digits starting 89 (the whole ICCID)
  iccid_tail    4-6 digits: the end of an ICCID, as read from the back of a card
  trade_no      an Alipay trade number (16-32 digits; Alipay's are 28, e.g. 2026112822001234567890123456);
                also a trade refunded against an order (a late or second payment)
  empty         nothing typed: every order, newest first, within the filters
  unknown       anything else (no results, never an error)
Digits of any script and full-width characters are read as ASCII first. Each kind is one index
lookup (see the staff search migration); card, plan and account are joined into the orders query,
whatever the number of results.
"""

import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from extensions import db
from models import Account, Card, Order, Refund
from rules.ordering import orders
from rules.text.formatting import hk_day_start
from rules.travellers import phones

MAX_TEXT = 64  # anything longer is no number staff would type
MAX_PER_PAGE = 100
MAX_OFFSET = 10_000  # deeper pages would walk the index that far: staff narrow the search instead
MAX_CARDS = 500  # a 4-digit ICCID tail matches about 1 card in 10,000: enough for any real fleet
_SEPARATORS = str.maketrans("", "", " -()./\u00a0\t")
_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−", "-"))  # as phones and word processors type them
KINDS = ("order_number", "phone", "iccid", "iccid_tail", "trade_no", "empty", "unknown")


@dataclass
class SearchPage:
    orders: list[Order] = field(default_factory=list)
    page: int = 1
    has_next: bool = False
    kind: str = "empty"


def _ascii(text: str) -> str:
    """NFKC (full-width forms), then any script's decimal digits as 0-9; control characters dropped."""
    text = unicodedata.normalize("NFKC", text)
    out = []
    for char in text:
        if char.isdigit() and not char.isascii():
            try:
                char = str(unicodedata.decimal(char))
            except ValueError:  # a digit-like sign that is no decimal digit (superscripts are NFKC'd)
                return "\x00"
        elif unicodedata.category(char).startswith("C"):
            continue
        out.append(char)
    return "".join(out).translate(_DASHES).strip()


def _order_number(text: str) -> str | None:
    number = orders.normalise_number(text)
    body = number[2:]
    if not number.startswith("RR") or len(body) != 13 or body[6] != "-" or not body[:6].isdigit():
        return None
    tail = body[7:]
    if not all(char in orders.NUMBER_ALPHABET for char in tail):
        return None
    return number


def _phone(compact: str) -> str | None:
    try:
        return phones.normalise(compact)
    except phones.InvalidPhone:
        return _well_formed_phone(compact)


def _well_formed_phone(compact: str) -> str | None:
    """A Hong Kong or mainland number by its shape alone, in E.164, listed by the numbering plan or not.

    Sign-in refuses numbers the plan has not given out, but staff look up what is stored: an account
    made before a plan change, or imported, keeps its number. With a country code (+, 00 or the bare
    code): +852 and 8 digits, +86 and 11 digits starting 1; without one, 8 digits or 11 starting 1.
    """
    coded = compact.startswith(("+", "00"))
    digits = compact.removeprefix("+").removeprefix("00") if coded else compact
    for code, length in phones.COUNTRY_PREFIXES:
        if digits.startswith(code) and len(digits) == len(code) + length:
            national = digits[len(code) :]
            return "+" + digits if code == "852" or national.startswith("1") else None
    if coded:
        return None
    if len(digits) == 8:
        return "+852" + digits
    return "+86" + digits if len(digits) == 11 and digits.startswith("1") else None


def understand(text: str | None) -> tuple[str, str | None]:
    """(kind, the normalised value to look up) for what staff typed."""
    if text is None or not text.strip():
        return "empty", None
    if len(text) > MAX_TEXT:
        return "unknown", None
    clean = _ascii(text)
    if not clean or "\x00" in clean:  # only control characters, or a digit that is no digit
        return "unknown", None
    if clean[:2].upper() == "RR":
        number = _order_number(clean)
        return ("order_number", number) if number else ("unknown", None)
    compact = clean.translate(_SEPARATORS)
    plus = compact.startswith("+")
    digits = compact[1:] if plus else compact
    if not digits.isascii() or not digits.isdigit():
        return "unknown", None
    if not plus and 4 <= len(digits) <= 6:
        return "iccid_tail", digits
    if not plus and len(digits) in (19, 20) and digits.startswith("89"):
        return "iccid", digits
    if len(digits) <= 15:  # E.164 is at most 15 digits
        phone = _phone(compact)
        if phone:
            return "phone", phone
    if not plus and 16 <= len(digits) <= 32:
        return "trade_no", digits
    return "unknown", None


def _ids(query) -> list[int]:
    return list(db.session.scalars(query.limit(MAX_CARDS)))


def _matching(kind: str, value: str):
    """The WHERE condition of one kind, or None when nothing can match; each answered by an index.

    Cards and accounts are looked up first (unique indexes), so the orders query gets literal ids
    the planner can weigh, and walks (card_id | account_id, created_at, id) newest first.
    """
    if kind == "order_number":
        return Order.number == value
    if kind == "trade_no":
        refunded = _ids(select(Refund.order_id).where(Refund.trade_no == value))
        return or_(Order.trade_no == value, Order.id.in_(refunded)) if refunded else Order.trade_no == value
    if kind == "phone":
        card_ids = _ids(select(Card.id).where(Card.msisdn == value))
        account_ids = _ids(select(Account.id).where(Account.phone == value))
        conditions = [Order.card_id.in_(card_ids)] if card_ids else []
        conditions += [Order.account_id.in_(account_ids)] if account_ids else []
        return or_(*conditions) if conditions else None
    if kind == "iccid":
        card_ids = _ids(select(Card.id).where(Card.iccid == value))
    else:  # iccid_tail: the ICCID ends with `value` = its reverse starts with it, a range on an index
        start = value[::-1]
        stop = start[:-1] + chr(ord(start[-1]) + 1)
        card_ids = _ids(select(Card.id).where(Card.iccid_reversed >= start, Card.iccid_reversed < stop))
    return Order.card_id.in_(card_ids) if card_ids else None


def search(
    text: str,
    state: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    page: int = 1,
    per_page: int = 20,
) -> SearchPage:
    """One page of the orders matching `text`, newest first (created_at, then id, descending).

    `state`: one of the order states (any other value matches nothing). `date_from` / `date_to`:
    Hong Kong days, both included, on the order's creation time.
    """
    page = max(int(page or 1), 1)
    per_page = min(max(int(per_page or 20), 1), MAX_PER_PAGE)
    kind, value = understand(text)
    too_deep = (page - 1) * per_page > MAX_OFFSET
    if kind == "unknown" or too_deep or (state is not None and state not in orders.STATES):
        return SearchPage([], page, False, kind)
    query = select(Order)
    if value is not None:
        condition = _matching(kind, value)
        if condition is None:
            return SearchPage([], page, False, kind)
        query = query.where(condition)
    if state is not None:
        query = query.where(Order.state == state)
    if date_from is not None:
        query = query.where(Order.created_at >= hk_day_start(date_from))
    if date_to is not None:
        query = query.where(Order.created_at < hk_day_start(date_to + timedelta(days=1)))
    query = (
        # Many-to-one each: joined into the one query, whatever the number of results.
        query.options(joinedload(Order.card), joinedload(Order.plan), joinedload(Order.account))
        .order_by(Order.created_at.desc(), Order.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page + 1)  # one more than shown: is there a next page?
    )
    found = list(db.session.scalars(query))
    return SearchPage(found[:per_page], page, len(found) > per_page, kind)
