"""Payments taken at a counter (agents, and partners at their own location): cash, a card terminal, an
AlipayHK or WeChat Pay QR code.

The counter is a location record (rules.shops.places), named by its code: an unknown or closed one is
refused, and so is one edited since the confirm step (the form carries its version). A partner acts only
at its own location, finds a card only by its number and the ICCID's last 4 digits, and records the ID
the traveller showed as its kind and last 4 characters. The payment joins its location's takings for the
Hong Kong day (rules.shops.takings), refused once that day is closed.

The money is already in the till, so the order is made paid at once: Order.payment_method is
"counter:<method>", there is no trade_no, and the transition's cause is "counter" with the location
and the staff member in its details. Then it is fulfilled like any other paid order (rules.ordering.fulfilment:
the paid SMS, the data on the card), and the traveller can take the receipt as an SMS link (the public
receipt check, rules.ordering.receipts) or on paper (the staff page prints the receipt).

Once per submit: the staff form carries a random request id (new_request_id()); CounterPayment.request_id
is unique, so a double submit or a retry finds the first order instead of making a second.

One figure: check() prices the order once through rules.ordering.pricing.quote (sale price and promo code included)
and refuses an unknown card, before anything is shown for confirmation; the confirm step carries that total,
and record() refuses when the price is not that total any more (a sale ended, a code ran out), so the
amount shown, confirmed and saved is the same.

Use (a view, inside a request so the receipt link can be built):
    checked = counter_payments.check(card_number, plan_code, method, location_code, reference, iccid, promo)
    ... show checked.total_cents, carry it as `quoted` ...
    result = counter_payments.record(card_number, plan_code, method, location, reference, request_id, actor,
                                     iccid_text=iccid, promo_code=promo, quoted=quoted)
    audit.record(actor, "order.counter_payment", result.order, result.before, result.after)
    db.session.commit()
    result.after_commit()     # adds the data now; the job retries if the carrier is down
"""

import json
import secrets
from dataclasses import dataclass, field

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from extensions import db
from gateways import sms
from models import Card, CounterPayment, Location, Order, OrderTransition, Plan, utcnow
from rules.offers import catalogue, promotions
from rules.ordering import fulfilment, orders, pricing, receipts
from rules.ordering.order_states import OrderState
from rules.payments import method_names, payment_events
from rules.shops import places, takings
from rules.staff import actors, counter_inputs
from rules.staff.counter_inputs import ID_KINDS, CounterRefused  # noqa: F401  (the pages and tests name them here)
from rules.staff.staff_refunds import REQUEST_ID
from rules.text import locales
from rules.text.formatting import money

METHODS = method_names.COUNTER
_INSERT_ATTEMPTS = 3


@dataclass
class CounterResult:
    order: Order
    duplicate: bool  # this request id was recorded before: that order, nothing new
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)

    def after_commit(self) -> None:
        """Add the data now (after the caller's commit); if the carrier is down the job retries."""
        if not self.duplicate:
            payment_events.fulfil_now(self.order.number, "counter")


@dataclass
class Checked:
    """What step one found: the card (not yet saved when it is new), the plan and its one price."""

    card: Card
    plan: Plan
    quote: pricing.Quote
    location: Location
    reference: str | None
    id_shown: tuple[str | None, str | None] = (None, None)

    @property
    def total_cents(self) -> int:
        return self.quote.total_cents


def check(
    card_number: str,
    plan_code: str,
    method: str,
    location_code: str,
    staff_reference: str,
    iccid_text: str = "",
    promo_code: str = "",
    *,
    actor=None,
    iccid_last4: str = "",
    id_kind: str = "",
    id_last4: str = "",
) -> Checked:
    """Everything record() checks, nothing written: the location is open and the actor's, the card is known
    (or registered with a valid ICCID; a partner needs its last 4 digits), the plan is on sale, and its price
    now. Raises CounterRefused (or actors.NotAllowed for another location)."""
    if method not in METHODS:
        raise CounterRefused(_l("Choose how the traveller paid."), "method")
    location = counter_inputs.open_location(location_code)
    if actor is not None:
        actors.require_at(actor, location.id)
    partner = actors.is_partner(actor)
    reference = counter_inputs.clean_text(staff_reference, "reference")
    id_shown = counter_inputs.id_shown(id_kind, id_last4, required=partner)
    plan = catalogue.plan_by_code((plan_code or "").strip())
    if plan is None:
        raise CounterRefused(_l("Choose a plan that is on sale."), "plan")
    card = (
        counter_inputs.known_card(card_number, iccid_last4)
        if partner
        else counter_inputs.card_or_new(card_number, iccid_text)
    )
    try:
        quote = pricing.quote(card.account, card, plan, promo_code or None, utcnow())
    except promotions.PromotionRefused as error:
        raise CounterRefused(str(error), "promo_code") from None
    return Checked(card, plan, quote, location, reference, id_shown)


def form_number(text: str | None) -> int | None:
    """A whole number a confirm step carried (a total in cents, a version, a count); None when it is not one."""
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 12 else None


def new_request_id() -> str:
    return secrets.token_urlsafe(12)


def record(
    card_number: str,
    plan_code: str,
    method: str,
    location_code: str,
    staff_reference: str,
    request_id: str,
    actor,
    iccid_text: str = "",
    locale: str = "en",
    receipt_by_sms: bool = True,
    promo_code: str = "",
    quoted: int | None = None,
    *,
    location_version: int | None = None,
    iccid_last4: str = "",
    id_kind: str = "",
    id_last4: str = "",
) -> CounterResult:
    """Record money taken at a counter as a paid order; the caller audits, commits, then after_commit().

    `quoted` is the total the staff member confirmed (check().total_cents): refused if the price is not
    that any more; `location_version` the location's version it showed: refused if the location was
    edited since. Raises CounterRefused (or actors.NotAllowed) with nothing changed.
    """
    username = actors.name(actor)
    if not actors.is_partner(actor):
        actors.require(actor, "agent")
    if not REQUEST_ID.fullmatch(request_id or ""):
        raise CounterRefused(_l("This form is out of date. Open it again."))
    done = _by_request(request_id)
    if done is not None:
        return CounterResult(done.order, True)
    checked = check(
        card_number,
        plan_code,
        method,
        location_code,
        staff_reference,
        iccid_text,
        promo_code,
        actor=actor,
        iccid_last4=iccid_last4,
        id_kind=id_kind,
        id_last4=id_last4,
    )
    counter_inputs.hold_location(
        checked.location, checked.location.version if location_version is None else location_version
    )
    if quoted is not None and checked.total_cents != quoted:
        now = money(checked.total_cents, checked.quote.currency)
        raise CounterRefused(_l("The price changed to %(amount)s. Check and confirm again.", amount=now), "plan")
    card, location, reference = _register(checked.card), checked.location, checked.reference
    details = {
        "location": location.name_en,
        "location_code": location.code,
        "staff": username,
        "method": method,
        "reference": reference,
    }
    if checked.id_shown[0]:
        details["id_shown"] = f"{checked.id_shown[0]} …{checked.id_shown[1]}"
    day = takings.hk_today()
    for _attempt in range(_INSERT_ATTEMPTS):
        try:
            with db.session.begin_nested():
                order = _paid_order(card, checked.quote, method, locale, details)
                db.session.add(
                    CounterPayment(
                        order_id=order.id,
                        request_id=request_id,
                        method=method,
                        location=location.name_en,  # the text column, as before locations were records
                        location_id=location.id,
                        hk_day=day,
                        id_kind=checked.id_shown[0],
                        id_last4=checked.id_shown[1],
                        staff_reference=reference,
                        staff_username=username,
                    )
                )
                db.session.flush()  # a concurrent twin with this request id waits here, then fails
                takings.add_payment(location.id, day, method, order.total_cents)  # DayRefused once closed
        except takings.DayRefused as error:
            raise CounterRefused(str(error), "location") from None
        except IntegrityError:
            done = _by_request(request_id)
            if done is not None:
                return CounterResult(done.order, True)
            continue  # the random order number was taken: another one
        except promotions.PromotionRefused as error:  # its last use went to someone else meanwhile
            raise CounterRefused(str(error), "promo_code") from None
        fulfilment.queue_confirmation(order)
        if receipt_by_sms:
            queue_receipt_sms(order, location)
        after = {"state": str(order.state), "number": order.number, "total_cents": order.total_cents, **details}
        return CounterResult(order, False, {}, after)
    raise CounterRefused(_l("The payment could not be recorded. Please try again."))


def queue_receipt_sms(order: Order, location: Location, dedupe: str = "") -> bool:
    """The receipt as a link (the public receipt check), to the card's number: once per order and `dedupe`
    (a partner's "text it again" passes its own). False when that one was already queued."""
    with force_locale(order.locale):
        body = _(
            "RoamRenew receipt: order %(number)s, %(amount)s paid at %(location)s. %(url)s",
            number=order.number,
            amount=money(order.total_cents, order.currency),
            location=places.name(location),
            url=receipts.verification_url(order),
        )
    return sms.queue(order.card.msisdn, body, "receipt", dedupe_key=f"receipt:{order.number}{dedupe}") is not None


def _by_request(request_id: str) -> CounterPayment | None:
    return db.session.scalars(select(CounterPayment).where(CounterPayment.request_id == request_id)).first()


def _register(card: Card) -> Card:
    """Save a card check() found new (with its ICCID); a known card as it is."""
    if card.id is not None:
        return card
    try:
        with db.session.begin_nested():
            db.session.add(card)
    except IntegrityError:  # registered at the same moment elsewhere
        raise CounterRefused(_l("That card changed just now. Please try again."), "number") from None
    return card


def _paid_order(card: Card, quote: pricing.Quote, method: str, locale: str, details: dict) -> Order:
    now = utcnow()
    order = Order(
        number=orders.new_order_number(),
        account_id=card.account_id,
        card_id=card.id,
        plan_id=quote.plan.id,
        currency=quote.currency,
        price_cents=quote.price_cents,
        discount_cents=quote.discount_cents,
        total_cents=quote.total_cents,
        validity_start=quote.validity_start,
        validity_end=quote.validity_end,
        locale=locale if locale in locales.LOCALES else "en",
        pending_key=None,  # never waits for a payment: it does not hold the card+plan checkout slot
        payment_method=f"counter:{method}",
        created_at=now,
        pay_by=now,
        state=OrderState.PENDING_PAYMENT.value,
    )
    db.session.add(order)
    db.session.flush()
    if quote.promotion is not None:
        promotions.reserve(quote.promotion, card.account, order)
    prices = quote.details()
    db.session.add(
        OrderTransition(order=order, to_state=OrderState.PENDING_PAYMENT.value, cause="counter", details=_json(prices))
    )
    orders.transition(order, OrderState.PAID, "counter", details)
    return order


def _json(details: dict) -> str:
    return json.dumps(details, ensure_ascii=False, sort_keys=True)
