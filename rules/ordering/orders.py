"""Orders: their numbers, their creation at checkout, and the state machine every change goes through.

The states, their groups and the moves allowed between them are in rules.ordering.order_states.
transition() is the only way an order changes state (and rules.ordering.marking_paid its one-statement
form for a payment). It is a conditional UPDATE (… WHERE state = the state we saw), so of two workers
applying the same change at once exactly one succeeds and the other gets IllegalTransition, whether or
not they locked the row first.
"""

import json
import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from extensions import db
from models import Account, Card, Order, OrderTransition, Plan, TransitionCause, utcnow
from rules.offers import promotions
from rules.ordering import order_states, pricing, start_modes
from rules.ordering.order_states import ALLOWED, STATE_NAMES, OrderState  # noqa: F401  (STATE_NAMES: re-exported)
from rules.text import locales
from rules.text.formatting import HONG_KONG

STATES = order_states.ALL
CAUSES = frozenset(TransitionCause)  # an order moves only for one of these
# Crockford's base32: no I, L, O or U, so a number read out at a counter cannot be misheard as another.
NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
NUMBER_RANDOM_LENGTH = 6  # 32**6 ≈ 10**9 numbers a day: not guessable, still short to read out
_CONFUSABLE = str.maketrans("OIL", "011")
_INSERT_ATTEMPTS = 3


@dataclass(frozen=True)
class Choices:
    """What the traveller chose on the review page besides the plan and the promo code."""

    start_mode: str
    payment_method: str | None  # None: not chosen (the registry's default serves the order)


class IllegalTransition(Exception):
    """The order cannot move to that state from the one it is in."""


class OrderRefused(ValueError):
    """No order can be made for this checkout; str() is a message for the traveller."""


def lock(order: Order) -> None:
    """Hold the order's row until this transaction ends (PostgreSQL; SQLite has one writer anyway),
    before a row that comes after it in the lock order (rules/__init__): refund requests, refunds.
    FOR NO KEY UPDATE, the lock its own UPDATE takes."""
    db.session.execute(select(Order.id).where(Order.id == order.id).with_for_update(key_share=True))


def transition(order: Order, to_state: OrderState | str, cause: str, details: dict | str | None = None) -> None:
    """Move `order` to `to_state` and record why; the caller commits.

    Raises IllegalTransition when the table does not allow it, or when another transaction moved the
    order first (the in-memory order is then refreshed to what the database holds).
    """
    from_state = order.state
    if to_state not in ALLOWED.get(from_state, ()):
        raise IllegalTransition(f"order {order.number}: {from_state} → {to_state} is not allowed")
    if cause not in CAUSES:
        raise ValueError(f"unknown transition cause {cause!r}")
    to_state = OrderState(to_state)  # known: ALLOWED holds only OrderState members
    now = utcnow()
    changes: dict = {"state": to_state.value}
    if from_state == OrderState.PENDING_PAYMENT:
        changes["pending_key"] = None  # frees the card+plan slot for a new checkout
    if to_state == OrderState.PAID:
        changes["paid_at"] = order.paid_at or now
    if to_state == OrderState.FULFILLED:
        changes["fulfilled_at"] = order.fulfilled_at or now
    if order.id is None:
        db.session.flush()
    moved = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.state == from_state)
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult, moved).rowcount != 1:
        db.session.refresh(order)
        raise IllegalTransition(f"order {order.number}: no longer {from_state}, now {order.state}")
    for name, value in changes.items():
        set_committed_value(order, name, value)  # already written: don't make the ORM write it again
    _record(order, from_state, to_state, cause, details, now)


def _record(
    order: Order, from_state: str | None, to_state: str, cause: str, details: dict | str | None, now: datetime
) -> None:
    db.session.add(
        OrderTransition(
            order=order,
            from_state=from_state and OrderState(from_state).value,
            to_state=OrderState(to_state).value,
            cause=cause,
            details=details_text(details),
            created_at=now,
        )
    )


def details_text(details: dict | str | None) -> str | None:
    """A transition's details as its row keeps them (a dict as sorted JSON)."""
    if isinstance(details, dict):
        return json.dumps(details, ensure_ascii=False, sort_keys=True, default=str)
    return details


def pay_within() -> timedelta:
    """How long a traveller has to pay: the PAY_WITHIN_MINUTES setting (also the gateway's time_expire)."""
    return timedelta(minutes=current_app.config["PAY_WITHIN_MINUTES"])


def payable(order: Order, now: datetime | None = None) -> bool:
    """Whether the traveller may still pay this order: unpaid, and its time to pay not over.

    The one answer for the checkout (continue an unpaid order), the pay link and the order page.
    """
    return order.state in order_states.PAYABLE and order.pay_by > (now or utcnow())


def new_order_number() -> str:
    """ "RR" + the Hong Kong date + "-" + 6 random base32 characters, e.g. RR261125-7KQ4M2."""
    day = datetime.now(HONG_KONG).strftime("%y%m%d")
    return f"RR{day}-" + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(NUMBER_RANDOM_LENGTH))


def normalise_number(text: str | None) -> str:
    """An order number as typed or read out: any case, spaces, no dash, O for 0 and I or L for 1."""
    compact = "".join((text or "").split()).upper()[:24]
    if not compact.startswith("RR"):
        return compact
    body = compact[2:].translate(_CONFUSABLE)
    if "-" not in body and len(body) == 6 + NUMBER_RANDOM_LENGTH:
        body = body[:6] + "-" + body[6:]
    return "RR" + body


def pending_order(card: Card, plan: Plan) -> Order | None:
    """The unpaid order for this card and plan, if there is one (at most one: pending_key is unique)."""
    return db.session.scalars(select(Order).where(Order.pending_key == f"{card.id}:{plan.id}")).first()


def create_order(
    account: Account,
    card: Card,
    plan: Plan,
    promo_code: str | None,
    locale: str,
    start_mode: str = start_modes.AFTER_CURRENT,
    payment_method: str | None = None,
) -> Order:
    """The unpaid order for this checkout: a new one, or the one already waiting for this card and plan
    (which then takes the start and the payment method chosen now: the price depends on neither).
    The method is also kept on the account, offered first next time.

    Prices come from the catalogue at this moment. Raises OrderRefused or promotions.PromotionRefused,
    leaving nothing behind. The caller commits.
    """
    if card.account_id != account.id:
        raise OrderRefused(_l("This card is not in your cards. Add it first."))
    # One checkout per account at a time (PostgreSQL row lock): confirming twice, or two promo uses
    # under a per-account limit, are then decided one after the other. FOR NO KEY UPDATE, not FOR
    # UPDATE: a payment's writes take KEY SHARE on the account (foreign keys) while holding its order
    # row, so FOR UPDATE here would wait on them, the account-after-order order rules/ forbids.
    db.session.execute(select(Account.id).where(Account.id == account.id).with_for_update(key_share=True))
    if payment_method is not None and account.payment_method != payment_method:
        account.payment_method = payment_method  # the account row, before any order row (rules/__init__)
        db.session.flush()
    chosen = Choices(start_mode, payment_method)
    return _create(account, card, plan, promo_code, locale, chosen, lambda e: e.account_id == account.id)


def create_guest_order(
    card: Card,
    plan: Plan,
    promo_code: str | None,
    locale: str,
    own_numbers: Collection[str],
    start_mode: str = start_modes.AFTER_CURRENT,
    payment_method: str | None = None,
) -> Order:
    """The unpaid order of a traveller who has not signed in (rules.ordering.guest_topup proved they know the
    card): a new one without an account, or their own unpaid one for this card and plan (`own_numbers`:
    the orders made in this browser). Anyone else's unpaid order, a signed-in owner's or another
    guest's, is never handed over. Raises like create_order; the caller commits.
    """
    chosen = Choices(start_mode, payment_method)
    return _create(
        None, card, plan, promo_code, locale, chosen, lambda e: e.account_id is None and e.number in own_numbers
    )


def _create(
    account: Account | None,
    card: Card,
    plan: Plan,
    promo_code: str | None,
    locale: str,
    chosen: Choices,
    mine: Callable[[Order], bool],
) -> Order:
    if not plan.active:
        raise OrderRefused(_l("This plan is not on sale any more. Please choose another."))
    now = utcnow()
    if start_modes.parse(chosen.start_mode) is None:
        raise OrderRefused(_l("Choose when the pack starts: now, or after the current pack."))
    existing = pending_order(card, plan)
    if existing is not None:
        return _restart(_reuse(existing, mine, now), chosen, now)
    quote = pricing.quote(account, card, plan, promo_code, now, chosen.start_mode)
    locale = locale if locale in locales.LOCALES else "en"
    for _attempt in range(_INSERT_ATTEMPTS):
        try:
            with db.session.begin_nested():
                return _insert(account, card, plan, quote, locale, chosen.payment_method, now)
        except IntegrityError:
            # Either a concurrent checkout took the card+plan slot (use its order), or the random
            # number collided with another order's (try another number).
            existing = pending_order(card, plan)
            if existing is not None:
                return _restart(_reuse(existing, mine, now), chosen, now)
    raise OrderRefused(_l("We could not create your order. Please try again."))


def _reuse(existing: Order, mine: Callable[[Order], bool], now: datetime) -> Order:
    """The unpaid order already holding this card and plan, if the traveller may go on with it."""
    if not payable(existing, now):
        # Not expired here: the expiry job first asks the gateway whether it was paid after all
        # (a lost notification) and closes the trade, so no late payment lands on a dead order.
        raise OrderRefused(
            _l(
                "Your last order for this card and plan was not paid in time and is being closed. "
                "Please try again in a minute."
            )
        )
    if not mine(existing):
        if existing.account_id is None:
            raise OrderRefused(_l("Someone else has an unpaid order for this card and plan. Try again in 15 minutes."))
        raise OrderRefused(_l("This card has an unpaid order from another account. Try again in 15 minutes."))
    return existing


def _restart(order: Order, chosen: Choices, now: datetime) -> Order:
    """An unpaid order confirmed again with the other start or another payment method: its dates and
    method follow the new choice (a cashier opened before stays known: rules.payments.cashiers).

    One conditional UPDATE naming the state, start and method it expects: a payment applied meanwhile
    (by the notification, in another process) is never rewritten; the traveller is told instead.
    """
    changes: dict = {}
    if order.start_mode != chosen.start_mode:
        start, end, _queued = pricing.validity(order.card, order.plan, now, chosen.start_mode)
        changes = {"start_mode": chosen.start_mode, "validity_start": start, "validity_end": end}
    if chosen.payment_method is not None and order.payment_method != chosen.payment_method:
        changes["payment_method"] = chosen.payment_method
    if not changes:
        return order
    moved = db.session.execute(
        update(Order)
        .where(
            Order.id == order.id,
            Order.state == OrderState.PENDING_PAYMENT,
            Order.trade_no.is_(None),
            Order.start_mode == order.start_mode,
            Order.payment_method.is_not_distinct_from(order.payment_method),
        )
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult, moved).rowcount != 1:
        db.session.refresh(order)
        raise OrderRefused(_l("This order was paid or changed a moment ago. Please look at your orders."))
    for name, value in changes.items():
        set_committed_value(order, name, value)
    return order


def _insert(
    account: Account | None,
    card: Card,
    plan: Plan,
    quote: pricing.Quote,
    locale: str,
    payment_method: str | None,
    now: datetime,
) -> Order:
    order = Order(
        number=new_order_number(),
        account_id=account.id if account is not None else None,
        card_id=card.id,
        plan_id=plan.id,
        currency=quote.currency,
        price_cents=quote.price_cents,
        discount_cents=quote.discount_cents,
        total_cents=quote.total_cents,
        validity_start=quote.validity_start,
        validity_end=quote.validity_end,
        start_mode=quote.start_mode,
        locale=locale,
        payment_method=payment_method,
        pending_key=f"{card.id}:{plan.id}",
        created_at=now,
        pay_by=now + pay_within(),
        state=OrderState.PENDING_PAYMENT.value,
    )
    db.session.add(order)
    db.session.flush()
    if quote.promotion is not None:
        promotions.reserve(quote.promotion, account, order)
    details = {**quote.details(), "start_mode": quote.start_mode}
    _record(order, None, OrderState.PENDING_PAYMENT, "checkout", details, now)
    db.session.flush()
    return order


def _leave_pending(order: Order, to_state: OrderState, cause: str, details: dict | None) -> None:
    details = dict(details or {})
    if order.promotion is not None:
        details["promotion_released"] = order.promotion.code  # release() unlinks it from the order
    transition(order, to_state, cause, details)
    promotions.release(order)


def expire(order: Order, cause: str, details: dict | None = None) -> None:
    """pending_payment → expired (time to pay ran out), giving back its promo code use."""
    _leave_pending(order, OrderState.EXPIRED, cause, details)


def cancel(order: Order, cause: str, details: dict | None = None) -> None:
    """pending_payment → cancelled (the traveller or staff gave up), giving back its promo code use."""
    _leave_pending(order, OrderState.CANCELLED, cause, details)


def find_for_account(number: str | None, account: Account | None) -> Order | None:
    """The order with this number if it belongs to `account`, else None (views answer 404)."""
    if account is None or not getattr(account, "id", None):
        return None
    order = db.session.scalars(select(Order).where(Order.number == normalise_number(number))).first()
    return order if order is not None and order.account_id == account.id else None


def for_account(account: Account, limit: int = 50) -> list[Order]:
    """The account's orders, newest first, with their plan and card (one query, not one per order)."""
    return list(
        db.session.scalars(
            select(Order)
            .options(joinedload(Order.plan), joinedload(Order.card))
            .where(Order.account_id == account.id)
            .order_by(Order.created_at.desc(), Order.id.desc())
            .limit(limit)
        )
    )


def waiting_for_staff(limit: int = 100) -> list[Order]:
    """Paid orders whose data staff must add or retry (needs_attention, to_add_by_hand), oldest first."""
    return list(
        db.session.scalars(
            select(Order)
            .where(Order.state.in_(order_states.WAITING_FOR_STAFF))
            .order_by(Order.paid_at, Order.id)
            .limit(limit)
        )
    )
