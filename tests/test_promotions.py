"""Promo codes: discounts, limits and windows, reservations held by unpaid orders and given back."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from extensions import db
from models import Account, Card, Order, Plan, Promotion, utcnow
from rules.offers import promotions
from rules.offers.promotions import PromotionRefused
from rules.ordering import orders


@pytest.fixture
def ctx(app, plans):
    """A request context (messages are translated) on a database with the demo plans."""
    with app.test_request_context():
        yield app


def promo(code: str = "SAVE", **settings) -> Promotion:
    if "amount_off_cents" not in settings:
        settings.setdefault("percent_off", 10)
    promotion = Promotion(code=code, **settings)
    db.session.add(promotion)
    db.session.commit()
    return promotion


def traveller(n: int = 1) -> tuple[Account, Card]:
    account = Account(phone=f"+8529{n:07d}")
    db.session.add(account)
    db.session.flush()
    card = Card(msisdn=f"+8526{n:07d}", iccid=f"89852{n:015d}", account_id=account.id, bound_at=utcnow())
    db.session.add(card)
    db.session.commit()
    return account, card


def plan(code: str) -> Plan:
    return db.session.scalars(select(Plan).where(Plan.code == code)).one()


def checkout(account: Account, card: Card, code: str | None, plan_code: str = "gba-3d") -> Order:
    order = orders.create_order(account, card, plan(plan_code), code, "en")
    db.session.commit()
    return order


def uses(promotion: Promotion) -> int:
    db.session.refresh(promotion)
    return promotion.uses_reserved


# Discounts


@pytest.mark.parametrize(
    "value, subtotal, discount",
    [
        (10, 5800, 580),  # exact
        (15, 9999, 1500),  # 1499.85 rounds up: the traveller's favour
        (33, 1, 1),  # a fraction of a cent is still a cent off
        (1, 18, 1),
    ],
)
def test_a_percentage_discount_is_rounded_up_to_the_cent(ctx, value, subtotal, discount):
    assert promotions.discount_cents(Promotion(percent_off=value), subtotal) == discount


def test_a_percentage_code_is_stored_on_the_order_with_its_discount(ctx):
    promotion = promo("TEN", percent_off=10)
    order = checkout(*traveller(), "ten")
    assert (order.price_cents, order.discount_cents, order.total_cents) == (5800, 580, 5220)
    assert order.promotion_id == promotion.id and uses(promotion) == 1


def test_a_fixed_discount_takes_off_its_amount(ctx):
    promo("TWENTY", amount_off_cents=2000)
    order = checkout(*traveller(), "TWENTY")
    assert (order.discount_cents, order.total_cents) == (2000, 3800)


@pytest.mark.parametrize("discount", [{"amount_off_cents": 1800}, {"amount_off_cents": 5000}, {"percent_off": 100}])
def test_a_code_that_would_make_the_plan_free_is_refused_as_alipay_needs_a_cent(ctx, discount):
    promo("FREE", **discount)
    with pytest.raises(PromotionRefused, match="Choose a bigger plan"):
        promotions.quote("FREE", None, 1800)


def test_codes_are_typed_any_case_with_stray_spaces(ctx):
    promotion = promo("SPRING10")
    assert promotions.quote("  spring 10 ", None, 5800) == (promotion, 580)


def test_no_code_means_no_discount(ctx):
    assert promotions.quote("", None, 5800) == (None, 0)
    assert promotions.quote(None, None, 5800) == (None, 0)


# Refusals, each with its reason


@pytest.mark.parametrize(
    "code, settings, reason",
    [
        ("NOPE", {}, "do not know this promo code"),
        ("X" * 200, {}, "do not know this promo code"),
        ("SAVE", {"active": False}, "no longer valid"),
        ("SAVE", {"starts_at": utcnow() + timedelta(days=1)}, "can be used from"),
        ("SAVE", {"ends_at": utcnow() - timedelta(minutes=1)}, "expired on"),
        ("SAVE", {"min_spend_cents": 5000}, r"at least HK\$50.00"),
        ("SAVE", {"max_uses": 0}, "fully used"),
    ],
)
def test_an_unusable_code_is_refused_with_its_reason(ctx, code, settings, reason):
    promo("SAVE", **settings)
    account, card = traveller()
    with pytest.raises(PromotionRefused, match=reason):
        promotions.quote(code, account, 1800)
    with pytest.raises(PromotionRefused, match=reason):
        checkout(account, card, code, "hk-1d")
    db.session.rollback()
    assert db.session.scalar(select(Order.id)) is None


def test_a_code_works_inside_its_window(ctx):
    promo("SAVE", starts_at=utcnow() - timedelta(days=1), ends_at=utcnow() + timedelta(days=1))
    assert promotions.quote("SAVE", None, 1800)[1] == 180


def test_the_minimum_spend_is_checked_on_the_price_after_a_sale(ctx):
    promo("SAVE", min_spend_cents=8000)
    account, card = traveller()
    with pytest.raises(PromotionRefused, match="at least"):
        checkout(account, card, "SAVE", "gba-7d")  # list price 98.00, on sale at 78.00


# Limits and reservations


def test_the_total_limit_counts_unpaid_orders_and_stops_the_next_checkout(ctx):
    promotion = promo("ONCE", max_uses=1)
    checkout(*traveller(1), "ONCE")
    second_account, second_card = traveller(2)
    with pytest.raises(PromotionRefused, match="fully used"):
        checkout(second_account, second_card, "ONCE")
    db.session.rollback()
    assert uses(promotion) == 1
    assert db.session.scalars(select(Order).where(Order.account_id == second_account.id)).first() is None


def test_reserve_itself_refuses_a_used_up_code_whatever_the_page_said(ctx):
    promotion = promo("ONCE", max_uses=1, uses_reserved=1)
    account, card = traveller()
    order = checkout(account, card, None)
    with pytest.raises(PromotionRefused, match="fully used"):
        promotions.reserve(promotion, account, order)
    db.session.rollback()
    assert uses(promotion) == 1 and order.promotion_id is None


def test_the_per_account_limit_counts_that_accounts_unpaid_and_paid_orders(ctx):
    promo("WELCOME", max_uses_per_account=1)
    account, card = traveller()
    first = checkout(account, card, "WELCOME", "gba-3d")
    with pytest.raises(PromotionRefused, match="already used"):
        checkout(account, card, "WELCOME", "gba-7d")
    db.session.rollback()
    orders.transition(first, "paid", "notification")
    db.session.commit()
    with pytest.raises(PromotionRefused, match="already used"):
        promotions.quote("WELCOME", account, 9800)
    assert promotions.quote("WELCOME", traveller(2)[0], 9800)[1] == 980  # another account still may


def test_a_per_account_code_needs_a_signed_in_traveller(ctx):
    promo("WELCOME", max_uses_per_account=1)
    with pytest.raises(PromotionRefused, match="Sign in"):
        promotions.quote("WELCOME", None, 5800)


def test_a_paid_order_keeps_its_use(ctx):
    promotion = promo("ONCE", max_uses=1)
    order = checkout(*traveller(1), "ONCE")
    orders.transition(order, "paid", "notification")
    orders.transition(order, "refunded", "staff")  # a refunded order still used the code
    db.session.commit()
    assert uses(promotion) == 1
    with pytest.raises(PromotionRefused, match="fully used"):
        promotions.quote("ONCE", traveller(2)[0], 5800)


@pytest.mark.parametrize("leave", [orders.expire, orders.cancel])
def test_an_expired_or_cancelled_order_gives_its_use_back(ctx, leave):
    promotion = promo("ONCE", max_uses=1, max_uses_per_account=1)
    account, card = traveller(1)
    order = checkout(account, card, "ONCE")
    leave(order, "job")
    db.session.commit()
    assert uses(promotion) == 0 and order.promotion_id is None
    assert '"promotion_released": "ONCE"' in order.transitions[-1].details
    again = checkout(account, card, "ONCE")  # the same account, and the total limit, allow it again
    assert again.promotion_id == promotion.id and uses(promotion) == 1


def test_release_is_idempotent_and_never_goes_below_zero(ctx):
    promotion = promo("SAVE", max_uses=5)
    order = checkout(*traveller(), "SAVE")
    orders.expire(order, "job")
    promotions.release(order)
    promotions.release(order)
    db.session.commit()
    assert uses(promotion) == 0
    stray = checkout(*traveller(2), "SAVE")
    promotion.uses_reserved = 0  # e.g. an operator reset the counter by hand
    db.session.commit()
    orders.cancel(stray, "staff")
    db.session.commit()
    assert uses(promotion) == 0


def test_a_paid_order_cannot_release_its_use(ctx):
    order = checkout(*traveller(), promo("SAVE").code)
    orders.transition(order, "paid", "notification")
    with pytest.raises(ValueError):
        promotions.release(order)


# Concurrency: each thread is a request of its own, with its own session and connection


def run_at_once(app, work, count: int) -> tuple[int, int, list[str]]:
    """Run `work(i)` in `count` threads released together; (successes, refusals, unexpected errors)."""
    barrier = threading.Barrier(count)
    outcomes: list[str] = []

    def run(i: int):
        with app.test_request_context():
            if db.engine.dialect.name == "sqlite":
                # One writer at a time: the others wait for it (and then see its commit) rather
                # than give up after the default 5 s.
                db.session.execute(text("PRAGMA busy_timeout = 60000"))
            try:
                barrier.wait()
                work(i)
                db.session.commit()
                outcomes.append("ok")
            except PromotionRefused:
                db.session.rollback()
                outcomes.append("refused")
            except Exception as error:  # counted as a failure of the test, never as a refusal
                db.session.rollback()
                outcomes.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    [thread.start() for thread in threads]
    [thread.join(120) for thread in threads]
    return outcomes.count("ok"), outcomes.count("refused"), [o for o in outcomes if o not in ("ok", "refused")]


def test_concurrent_reservations_never_exceed_the_total_limit(ctx):
    promotion_id = promo("THREE", max_uses=3).id
    people = [traveller(n) for n in range(1, 11)]
    pending = [(account.id, checkout(account, card, None).id) for account, card in people]

    def reserve(i: int):
        account_id, order_id = pending[i]
        promotions.reserve(
            db.session.get(Promotion, promotion_id),
            db.session.get(Account, account_id),
            db.session.get(Order, order_id),
        )

    assert run_at_once(ctx, reserve, len(pending)) == (3, 7, [])
    assert db.session.get(Promotion, promotion_id).uses_reserved == 3
    assert db.session.scalar(select(db.func.count()).where(Order.promotion_id == promotion_id)) == 3


def test_concurrent_checkouts_never_exceed_the_total_limit(ctx):
    promotion_id = promo("THREE", max_uses=3).id
    people = [(account.id, card.id) for account, card in (traveller(n) for n in range(1, 9))]

    def confirm(i: int):
        account_id, card_id = people[i]
        orders.create_order(
            db.session.get(Account, account_id), db.session.get(Card, card_id), plan("gba-3d"), "THREE", "en"
        )

    assert run_at_once(ctx, confirm, len(people)) == (3, 5, [])
    assert db.session.get(Promotion, promotion_id).uses_reserved == 3
    assert db.session.scalar(select(db.func.count()).select_from(Order)) == 3


def test_concurrent_checkouts_by_one_account_respect_its_limit(ctx):
    promo("WELCOME", max_uses_per_account=1)
    account, card = traveller()
    account_id, card_id = account.id, card.id  # ids only: the objects belong to this thread's session
    codes = ["gba-3d", "gba-7d", "gba-30d", "hk-30d", "trio-7d"]

    def confirm(i: int):
        orders.create_order(
            db.session.get(Account, account_id), db.session.get(Card, card_id), plan(codes[i]), "WELCOME", "en"
        )

    assert run_at_once(ctx, confirm, len(codes)) == (1, 4, [])
