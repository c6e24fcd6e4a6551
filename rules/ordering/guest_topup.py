"""Top up without signing in: someone else's card, or when a sign-in code cannot arrive (roaming).

The traveller shows they know the card: its number, typed twice, and the last 4 digits of its ICCID,
checked with the carrier (any of its prepaid SIMs, bound here or not; never this site's accounts).
Wrong digits and an unknown number get the same answer, so the form cannot tell anyone which numbers
are cards. Tries are limited per number and per address and
counted in the database (TopUpAttempt), so the limits hold however many app servers run.

No account is made. The guest gets a capability instead: each order's status and receipt pages open
with a token, an HMAC of the order number under SECRET_KEY, which is texted to the card's number and
shown after paying. Only orders without an account open that way: a token never opens an account's
order. Nothing about the card (balance, other orders, nickname, owner) is shown to a guest.
"""

import hashlib
import hmac
import time
import unicodedata
from collections.abc import MutableMapping
from datetime import timedelta

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from extensions import db
from gateways import carrier as carriers
from models import Card, Order, Plan, TopUpAttempt, utcnow
from rules import turns
from rules.ordering import orders
from rules.travellers import login_codes, phones

SESSION_KEY = "guest_topup"
SESSION_LIFETIME = timedelta(minutes=30)  # the checkout state; the order's links last as long as the order
LAST_DIGITS = carriers.LAST_DIGITS
RECEIPT_PATH = "/top-up/orders/{number}/{token}/receipt"  # the route of blueprints/topup.receipt
MAX_OWN_ORDERS = 5  # order numbers remembered per browser (to continue one's own unpaid order)
NOT_FOUND = _l(
    "We could not find a card with this number and these ICCID digits. Check both and try again, "
    "or sign in if the card is yours."
)


class GuestRefused(Exception):
    """str() is a message for the traveller; `field` is the form field it is about (or None)."""

    status = 422

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.field = field


class CarrierDown(GuestRefused):
    """The carrier could not say whether the card is theirs (the view answers 503)."""

    status = 503


class TooManyTries(GuestRefused):
    """A limit per number or per address is reached (the view answers 429)."""

    status = 429


def clean_last_digits(typed: str | None) -> str | None:
    """The 4 ASCII digits typed (full-width digits and spaces are fine), or None."""
    digits = "".join(unicodedata.normalize("NFKC", (typed or "")[:40]).split())
    return digits if len(digits) == LAST_DIGITS and digits.isascii() and digits.isdigit() else None


def find_card(number: str, again: str, last_digits: str, ip: str | None) -> Card:
    """The card these details are for, or GuestRefused / TooManyTries; the caller commits either way
    (a refused try counts). Formats are checked before anything is looked up or counted."""
    try:
        phone = phones.normalise(number)
    except phones.InvalidPhone as error:
        raise GuestRefused(error, "number") from None
    try:
        same = phones.normalise(again) == phone
    except phones.InvalidPhone:
        same = False
    if not same:
        raise GuestRefused(_l("The two numbers are not the same. Type the card's number again."), "number_again")
    digits = clean_last_digits(last_digits)
    if digits is None:
        raise GuestRefused(_l("Type the last 4 digits of the ICCID printed on the card."), "iccid_last4")
    attempt = _count_attempt(phone, ip)
    db.session.commit()  # the try counts, and no lock is held while the carrier answers
    try:
        matched = carriers.carrier().sim_matches(phone, digits)
    except carriers.CarrierUnavailable:
        raise CarrierDown(
            _l("We could not check the card with the carrier just now. Please try again in a few minutes.")
        ) from None
    if not matched:  # one answer for an unknown number and wrong digits
        raise GuestRefused(NOT_FOUND)
    attempt.ok = True
    return _card_row(phone)


def _card_row(phone: str) -> Card:
    """Our row for the carrier's card (orders and packs hang on it), made the first time it is topped up."""
    card = db.session.scalars(select(Card).where(Card.msisdn == phone)).first()
    if card is not None:
        return card
    try:
        with db.session.begin_nested():
            card = Card(msisdn=phone)  # its ICCID stays unknown: the guest typed only its end
            db.session.add(card)
    except IntegrityError:  # the same number shown at the same moment elsewhere
        card = db.session.scalars(select(Card).where(Card.msisdn == phone)).one()
    return card


def _count_attempt(phone: str, ip: str | None) -> TopUpAttempt:
    """Record the try, then count the ones in the window including it: no other try for the number or
    the address slips in between (rules.turns)."""
    turns.take_turns(f"topup-number:{phone}", f"topup-ip:{ip}")
    attempt = TopUpAttempt(phone=phone, ip=ip, ok=False, created_at=utcnow())
    db.session.add(attempt)
    db.session.flush()
    checks = [("TOPUP_PHONE_LIMIT", TopUpAttempt.phone == phone)]
    if ip:
        checks.append(("TOPUP_IP_LIMIT", TopUpAttempt.ip == ip))
    for setting, condition in checks:
        most, window = login_codes.limit(setting)
        since = attempt.created_at - window
        count = db.session.scalar(select(func.count(TopUpAttempt.id)).where(TopUpAttempt.created_at > since, condition))
        if (count or 0) > most:
            db.session.delete(attempt)
            db.session.flush()
            raise TooManyTries(
                _l("Too many tries for this number. Try again in an hour.")
                if setting == "TOPUP_PHONE_LIMIT"
                else _l("Too many tries from this connection. Try again later.")
            )
    return attempt


# --- the guest's checkout state, in their session --------------------------------------------------


def remember_card(session: MutableMapping, card: Card) -> None:
    session[SESSION_KEY] = {
        "card": card.id,
        "until": int(time.time() + SESSION_LIFETIME.total_seconds()),
        "orders": own_numbers(session),
        "method": last_method(session),
    }


def verified_card(session: MutableMapping) -> Card | None:
    """The card this browser showed it knows, within the last 30 minutes; else None."""
    state = session.get(SESSION_KEY)
    if not isinstance(state, dict) or not isinstance(state.get("card"), int):
        return None
    if not isinstance(state.get("until"), int) or state["until"] < time.time():
        return None
    return db.session.get(Card, state["card"])


def own_numbers(session: MutableMapping) -> list[str]:
    state = session.get(SESSION_KEY)
    numbers = state.get("orders") if isinstance(state, dict) else None
    return [n for n in numbers if isinstance(n, str)][-MAX_OWN_ORDERS:] if isinstance(numbers, list) else []


def place_order(
    session: MutableMapping,
    card: Card,
    plan: Plan,
    promo_code: str | None,
    locale: str,
    start_mode: str,
    payment_method: str | None = None,
) -> Order:
    """Create (or continue) this guest's unpaid order; raises like orders.create_order. The caller commits.
    The payment method is remembered in the session only: a guest has no account to keep it in."""
    numbers = own_numbers(session)
    order = orders.create_guest_order(card, plan, promo_code, locale, numbers, start_mode, payment_method)
    state = dict(session.get(SESSION_KEY) or {})
    earlier = [n for n in numbers if n != order.number][-(MAX_OWN_ORDERS - 1) :]
    state["orders"] = [*earlier, order.number]
    if payment_method is not None:
        state["method"] = payment_method
    session[SESSION_KEY] = state
    return order


def last_method(session: MutableMapping) -> str | None:
    """The payment method this browser chose last in the top-up, offered first again."""
    state = session.get(SESSION_KEY)
    method = state.get("method") if isinstance(state, dict) else None
    return method if isinstance(method, str) else None


# --- the order's capability: its token --------------------------------------------------------------


def access_token(number: str) -> str:
    """Unguessable without our key; 128 bits. Only ever given for an order without an account."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"guest-order:{number}".encode(), hashlib.sha256).hexdigest()[:32]


def order_for_token(number: str, token: str) -> Order | None:
    """The order these link parts open: one without an account, whose token matches; else None."""
    number = orders.normalise_number(number[:24])
    typed = (token or "")[:64].encode("utf-8", "replace")  # bytes: compare_digest refuses non-ASCII text
    if not number or not hmac.compare_digest(access_token(number).encode(), typed):
        return None
    order = db.session.scalars(select(Order).where(Order.number == number)).first()
    return order if order is not None and order.account_id is None else None


def status_path(order: Order) -> str:
    return url_for("topup.status", number=order.number, token=access_token(order.number))


def receipt_url(order: Order) -> str:
    """The receipt's full address, for the SMS. Built by hand, not with url_for: the SMS is also
    queued by the jobs worker, which has no request to build URLs from (blueprints/topup.receipt)."""
    path = RECEIPT_PATH.format(number=order.number, token=access_token(order.number))
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path
