"""What a top-up costs and when it runs: one calculation for the review page and the order alike,
so the traveller confirms exactly what the order will hold. Prices always come from the catalogue,
never from a form."""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import func, select

from extensions import db
from models import Account, Card, CardPack, Order, Plan, Promotion, utcnow
from rules.offers import catalogue, promotions
from rules.ordering import start_modes
from rules.ordering.order_states import IN_PROGRESS


@dataclass(frozen=True)
class Quote:
    """The numbers on the review page and on the order."""

    plan: Plan
    currency: str
    list_price_cents: int
    price_cents: int  # the sale price inside a sale window, else the list price
    promotion: Promotion | None
    discount_cents: int
    validity_start: datetime
    validity_end: datetime
    queued: bool  # True when the pack starts after one already on the card
    start_mode: str = start_modes.AFTER_CURRENT

    @property
    def total_cents(self) -> int:
        return self.price_cents - self.discount_cents

    @property
    def on_sale(self) -> bool:
        return self.price_cents < self.list_price_cents

    def details(self) -> dict:
        """The figures an order's first transition records."""
        return {
            "price_cents": self.price_cents,
            "discount_cents": self.discount_cents,
            "total_cents": self.total_cents,
            "currency": self.currency,
            "promotion": self.promotion.code if self.promotion else None,
        }


def queue_end(card: Card) -> datetime | None:
    """When the last pack on the card ends: data already added, or paid for and not yet added."""
    # A paid order has no CardPack until its data is added (by the carrier or staff); it still comes first.
    # Both in one statement: the review page asks this twice a request.
    pack_end, paid_end = db.session.execute(
        select(
            select(func.max(CardPack.ends_at)).where(CardPack.card_id == card.id).scalar_subquery(),
            select(func.max(Order.validity_end))
            .where(Order.card_id == card.id, Order.state.in_(IN_PROGRESS))
            .scalar_subquery(),
        )
    ).one()
    ends = [end for end in (pack_end, paid_end) if end is not None]
    return max(ends) if ends else None


def validity(
    card: Card, plan: Plan, now: datetime, start_mode: str = start_modes.AFTER_CURRENT
) -> tuple[datetime, datetime, bool]:
    """(start, end, queued): starts now, or (after_current) right after the card's last pack if that is later."""
    if start_mode == start_modes.NOW:
        return now, now + timedelta(days=plan.days), False
    last_end = queue_end(card)
    start = last_end if last_end is not None and last_end > now else now
    return start, start + timedelta(days=plan.days), start > now


def quote(
    account: Account | None,
    card: Card,
    plan: Plan,
    promo_code: str | None,
    now: datetime | None = None,
    start_mode: str = start_modes.AFTER_CURRENT,
) -> Quote:
    """Price, discount and validity for topping up `card` with `plan` at `now`, starting as `start_mode` says.

    Raises promotions.PromotionRefused when a code was given and cannot be used.
    """
    now = now or utcnow()
    price = catalogue.current_price_cents(plan, now)
    promotion, discount = promotions.quote(promo_code, account, price, now)
    start, end, queued = validity(card, plan, now, start_mode)
    return Quote(
        plan=plan,
        currency=plan.currency,
        list_price_cents=plan.price_cents,
        price_cents=price,
        promotion=promotion,
        discount_cents=discount,
        validity_start=start,
        validity_end=end,
        queued=queued,
        start_mode=start_mode,
    )


def of_order(order: Order, fresh: Quote) -> Quote:
    """The figures of an unpaid order (price, promotion, discount, as it was confirmed) with the dates of
    `fresh`: what confirming it again will pay, starting as chosen now."""
    return replace(
        fresh,
        currency=order.currency,
        price_cents=order.price_cents,
        promotion=order.promotion,
        discount_cents=order.discount_cents,
    )


def _cents(quoted: str) -> int | None:
    """The total a page sent back (cents), or None when missing or malformed (it then says nothing)."""
    return int(quoted) if quoted.isascii() and quoted.isdigit() and len(quoted) <= 12 else None


def differs(total_cents: int, quoted: str) -> bool:
    """True when `quoted` says a total other than `total_cents`."""
    cents = _cents(quoted)
    return cents is not None and cents != total_cents


def total_changed(account: Account | None, card: Card, plan: Plan, promo_code: str, quoted: str) -> bool:
    """True when the total a page showed (`quoted`, in cents, if it says) is not what the order would
    cost now. Only compared, never charged: a traveller must not pay a total they did not see.

    Raises promotions.PromotionRefused when the code cannot be used any more.
    """
    if _cents(quoted) is None:
        return False
    return differs(quote(account, card, plan, promo_code).total_cents, quoted)
