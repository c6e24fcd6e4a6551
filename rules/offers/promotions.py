"""Promo codes: what a code takes off a price, and how many uses it has left.

A use is *reserved* when an order is created with the code (pending_payment), *kept* when the order is
paid (and stays kept if it is later refunded: the code was used), and *released* when the order expires
or is cancelled. `Promotion.uses_reserved` counts the uses held right now; the total limit is enforced by
one conditional UPDATE, so concurrent checkouts can never take more than `max_uses`.

Rounding: a percentage discount is rounded UP to a whole cent, in the traveller's favour (15 % of
HK$99.99 takes off HK$15.00, not HK$14.99). A discount never exceeds the subtotal, and a code that would
make the total less than HK$0.01 is refused: Alipay cannot take a zero payment.
"""

from datetime import datetime
from typing import cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import CursorResult

from extensions import db
from models import Account, Order, Promotion, utcnow
from rules.ordering.order_states import HOLDING_PROMOTION, UNPAID_ENDED
from rules.text.formatting import hk_time, money

MAX_CODE_LENGTH = 32
MIN_CHARGE_CENTS = 1  # the smallest amount Alipay accepts (0.01)


class PromotionRefused(Exception):
    """The code cannot be used for this order; str() is a message for the traveller."""


def normalise_code(code: str | None) -> str:
    """Codes are typed on phones: ignore case and spaces around (and inside) them."""
    return "".join((code or "").split()).upper()


def find(code: str) -> Promotion | None:
    """The promotion with this code, whatever its state; codes are matched case-insensitively."""
    code = normalise_code(code)
    if not code or len(code) > MAX_CODE_LENGTH:
        return None
    return db.session.scalars(select(Promotion).where(func.upper(Promotion.code) == code)).first()


def discount_cents(promotion: Promotion, subtotal_cents: int) -> int:
    """What the promotion takes off `subtotal_cents`, before the minimum-charge check."""
    if promotion.percent_off is not None:
        discount = -(-subtotal_cents * promotion.percent_off // 100)  # ceiling division: rounds up
    else:
        discount = promotion.amount_off_cents or 0
    return max(0, min(discount, subtotal_cents))


def quote(
    code: str | None, account: Account | None, subtotal_cents: int, now: datetime | None = None
) -> tuple[Promotion | None, int]:
    """The promotion and its discount for this subtotal; (None, 0) when no code was entered.

    Raises PromotionRefused with the reason. The use limits checked here are advisory for the page;
    reserve() enforces them again when the order is created.
    """
    if code is None or not normalise_code(code):
        return None, 0
    promotion = find(code)
    if promotion is None:
        raise PromotionRefused(_l("We do not know this promo code. Check its spelling."))
    _check_usable(promotion, account, subtotal_cents, now or utcnow())
    discount = discount_cents(promotion, subtotal_cents)
    if subtotal_cents - discount < MIN_CHARGE_CENTS:
        raise PromotionRefused(_l("This code is worth as much as this plan or more. Choose a bigger plan to use it."))
    return promotion, discount


def _check_usable(promotion: Promotion, account: Account | None, subtotal_cents: int, now: datetime) -> None:
    if not promotion.active:
        raise PromotionRefused(_l("This promo code is no longer valid."))
    if promotion.starts_at is not None and now < promotion.starts_at:
        raise PromotionRefused(_l("This promo code can be used from %(date)s.", date=hk_time(promotion.starts_at)))
    if promotion.ends_at is not None and now >= promotion.ends_at:
        raise PromotionRefused(_l("This promo code expired on %(date)s.", date=hk_time(promotion.ends_at)))
    if subtotal_cents < promotion.min_spend_cents:
        raise PromotionRefused(
            _l("This promo code needs a spend of at least %(amount)s.", amount=money(promotion.min_spend_cents))
        )
    if promotion.max_uses is not None and promotion.uses_reserved >= promotion.max_uses:
        raise PromotionRefused(_l("This promo code has been fully used."))
    _check_account_limit(promotion, account)


def _check_account_limit(promotion: Promotion, account: Account | None, except_order: Order | None = None) -> None:
    if promotion.max_uses_per_account is None:
        return
    if account is None:
        raise PromotionRefused(_l("Sign in to use this promo code."))
    query = (
        select(func.count())
        .select_from(Order)
        .where(Order.account_id == account.id, Order.promotion_id == promotion.id, Order.state.in_(HOLDING_PROMOTION))
    )
    if except_order is not None and except_order.id is not None:
        query = query.where(Order.id != except_order.id)
    if (db.session.scalar(query) or 0) >= promotion.max_uses_per_account:
        raise PromotionRefused(_l("You have already used this promo code."))


def reserve(promotion: Promotion, account: Account | None, order: Order) -> None:
    """Take one use of `promotion` for `order`, or raise PromotionRefused. The caller commits.

    Safe under concurrent checkouts: the total limit is one conditional UPDATE (a second writer waits
    for the first and re-checks the condition), and the per-account count runs with the account's row
    locked, so two checkouts by one account are counted one after the other (PostgreSQL; SQLite has a
    single writer anyway).
    """
    if account is not None:
        # NO KEY UPDATE: the same lock as the checkout's (rules.ordering.orders.create_order), never stronger.
        db.session.execute(select(Account.id).where(Account.id == account.id).with_for_update(key_share=True))
    _check_account_limit(promotion, account, except_order=order)
    taken = db.session.execute(
        update(Promotion)
        .where(
            Promotion.id == promotion.id,
            Promotion.active.is_(True),
            or_(Promotion.max_uses.is_(None), Promotion.uses_reserved < Promotion.max_uses),
        )
        .values(uses_reserved=Promotion.uses_reserved + 1)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult, taken).rowcount != 1:
        raise PromotionRefused(_l("This promo code has been fully used."))
    db.session.expire(promotion, ["uses_reserved"])  # the in-memory count is stale now
    order.promotion_id = promotion.id


def release(order: Order) -> None:
    """Give back the use held by an expired or cancelled order; a second call does nothing.

    The order's link to the promotion is cleared by a conditional UPDATE (so two releases racing for
    one order decrement once); which code it had stays in its transition details.
    """
    if order.promotion_id is None:
        return
    if order.state not in UNPAID_ENDED:
        raise ValueError(f"order {order.number} is {order.state}: only expired or cancelled orders release a use")
    promotion_id = order.promotion_id
    unlinked = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.promotion_id == promotion_id)
        .values(promotion_id=None)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(order, ["promotion_id", "promotion"])
    if cast(CursorResult, unlinked).rowcount != 1:
        return
    db.session.execute(
        update(Promotion)
        .where(Promotion.id == promotion_id, Promotion.uses_reserved > 0)
        .values(uses_reserved=Promotion.uses_reserved - 1)
        .execution_options(synchronize_session=False)
    )
    promotion = db.session.get(Promotion, promotion_id)
    if promotion is not None:
        db.session.expire(promotion, ["uses_reserved"])
