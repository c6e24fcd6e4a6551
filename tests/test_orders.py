"""Orders: their numbers, their creation at checkout, and the state machine every change goes through."""

import itertools
import json
import re
import threading
from datetime import timedelta

import pytest
from conftest import csrf_token
from sqlalchemy import func, select, text

from extensions import db
from models import Account, Card, CardPack, Order, OrderTransition, Plan, utcnow
from rules.ordering import orders

NUMBER = re.compile(r"^RR\d{6}-[0-9A-HJKMNP-TV-Z]{6}$")  # Crockford base32: no I, L, O, U
LEGAL = [(source, target) for source, targets in orders.ALLOWED.items() for target in targets]
ILLEGAL = [pair for pair in itertools.product(orders.STATES, orders.STATES) if pair not in LEGAL]


@pytest.fixture
def ctx(app, plans):
    """A request context (messages are translated) on a database with the demo plans."""
    with app.test_request_context():
        yield app


def make_account(phone: str = "+85291234567") -> Account:
    account = Account(phone=phone)
    db.session.add(account)
    db.session.flush()
    return account


def make_card(account: Account | None, n: int = 1) -> Card:
    card = Card(
        msisdn=f"+8526{n:07d}",
        iccid=f"89852{n:015d}",
        account_id=account.id if account else None,
        bound_at=utcnow() if account else None,
    )
    db.session.add(card)
    db.session.flush()
    return card


def plan(code: str = "gba-3d") -> Plan:
    return db.session.scalars(select(Plan).where(Plan.code == code)).one()


def new_order(code: str = "gba-3d", phone: str = "+85291234567", n: int = 1) -> Order:
    account = db.session.scalars(select(Account).where(Account.phone == phone)).first() or make_account(phone)
    card = db.session.scalars(select(Card).where(Card.account_id == account.id)).first() or make_card(account, n)
    order = orders.create_order(account, card, plan(code), None, "en")
    db.session.commit()
    return order


def order_in(state: str) -> Order:
    """An order put straight into `state` (test set-up, not a transition)."""
    order = new_order()
    order.state = state
    order.pending_key = order.pending_key if state == "pending_payment" else None
    db.session.commit()
    return order


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# Creating an order


def test_a_new_order_is_priced_by_the_server_and_waits_15_minutes_for_payment(ctx):
    order = new_order("gba-3d")
    assert (order.state, order.currency, order.price_cents, order.discount_cents, order.total_cents) == (
        "pending_payment",
        "HKD",
        5800,
        0,
        5800,
    )
    assert order.pay_by - order.created_at == timedelta(minutes=15)
    assert order.pending_key == f"{order.card_id}:{order.plan_id}"
    (first,) = order.transitions
    assert (first.from_state, first.to_state, first.cause) == (None, "pending_payment", "checkout")
    assert json.loads(first.details)["total_cents"] == 5800


def test_a_sale_price_is_charged_inside_the_sale_window_and_the_list_price_after_it(ctx):
    assert new_order("gba-7d").total_cents == 7800
    sale_plan = plan("gba-7d")
    sale_plan.sale_ends_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    account = make_account("+85290000002")
    order = orders.create_order(account, make_card(account, 2), sale_plan, None, "zh_Hant")
    assert (order.total_cents, order.locale) == (9800, "zh_Hant")


def test_confirming_twice_returns_the_same_unpaid_order(ctx):
    first = new_order()
    second = orders.create_order(first.card.account, first.card, first.plan, None, "en")
    db.session.commit()
    assert second.id == first.id and count(Order) == 1


def test_a_paid_order_frees_its_card_and_plan_for_the_next_top_up(ctx):
    first = new_order()
    orders.transition(first, "paid", "notification")
    db.session.commit()
    second = orders.create_order(first.card.account, first.card, first.plan, None, "en")
    assert second.id != first.id and first.pending_key is None


def test_an_overdue_unpaid_order_is_left_to_the_expiry_job_which_asks_the_gateway_first(ctx):
    first = new_order()
    first.pay_by = utcnow() - timedelta(seconds=1)
    db.session.commit()
    with pytest.raises(orders.OrderRefused, match="not paid in time"):
        orders.create_order(first.card.account, first.card, first.plan, None, "en")
    assert count(Order) == 1 and first.state == "pending_payment"


def test_a_card_passed_on_with_an_unpaid_order_waits_for_that_order_to_end(ctx):
    first = new_order()
    card = first.card
    card.account_id = make_account("+85290000005").id  # unbound, then bound by someone else
    db.session.commit()
    with pytest.raises(orders.OrderRefused, match="another account"):
        orders.create_order(card.account, card, first.plan, None, "en")
    assert count(Order) == 1


def test_an_order_for_a_card_that_is_not_the_accounts_is_refused(ctx):
    owner, stranger = make_account("+85290000001"), make_account("+85290000002")
    card = make_card(owner)
    with pytest.raises(orders.OrderRefused):
        orders.create_order(stranger, card, plan(), None, "en")
    with pytest.raises(orders.OrderRefused):
        orders.create_order(stranger, make_card(None, 9), plan(), None, "en")
    assert count(Order) == 0


def test_validity_starts_now_when_the_card_has_no_pack_running(ctx):
    before = utcnow()
    order = new_order("gba-3d")
    assert before <= order.validity_start <= utcnow()
    assert order.validity_end - order.validity_start == timedelta(days=3)


def test_validity_is_queued_after_the_pack_already_on_the_card(ctx):
    account = make_account()
    card = make_card(account)
    pack_end = (utcnow() + timedelta(days=10)).replace(microsecond=0)
    db.session.add_all(
        [
            CardPack(card_id=card.id, data_mb=1024, starts_at=utcnow() - timedelta(days=20), ends_at=pack_end),
            CardPack(
                card_id=card.id,
                data_mb=1024,
                starts_at=utcnow() - timedelta(days=40),
                ends_at=utcnow() - timedelta(days=20),
            ),
        ]
    )
    order = orders.create_order(account, card, plan("gba-30d"), None, "en")
    assert (order.validity_start, order.validity_end) == (pack_end, pack_end + timedelta(days=30))


def test_validity_is_queued_after_a_paid_order_whose_data_is_not_added_yet(ctx):
    first = new_order("gba-30d")
    orders.transition(first, "paid", "notification")
    db.session.commit()
    second = orders.create_order(first.card.account, first.card, plan("gba-7d"), None, "en")
    assert second.validity_start == first.validity_end


@pytest.mark.parametrize("sent", [{"amount": "0.01"}, {"price": "1", "total_cents": "1", "price_cents": "1"}])
def test_the_price_comes_from_the_server_whatever_the_form_says(app, client, plans, sign_in, sent):
    sign_in("+85291234567")
    with app.app_context():
        make_card(db.session.scalars(select(Account)).one())
        db.session.commit()
    page = client.get("/checkout?plan=gba-3d")
    response = client.post(
        "/checkout/confirm",
        data={
            "csrf_token": csrf_token(page.text),
            "plan": "gba-3d",
            "card": re.search(r'name="card" value="(\d+)"', page.text).group(1),
            **sent,
        },
    )
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalars(select(Order)).one().total_cents == 5800


def test_two_confirmations_at_the_same_moment_make_one_order(ctx):
    first = new_order("hk-1d")
    account_id, card_id, plan_id = first.account_id, first.card_id, plan("gba-3d").id
    numbers, errors = [], []
    barrier = threading.Barrier(4)

    def confirm():
        with ctx.app_context():
            _patient_sqlite()
            try:
                account, card = db.session.get(Account, account_id), db.session.get(Card, card_id)
                barrier.wait()
                order = orders.create_order(account, card, db.session.get(Plan, plan_id), None, "en")
                db.session.commit()
                numbers.append(order.number)
            except Exception as error:  # reported below, never swallowed
                errors.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=confirm) for _ in range(4)]
    [thread.start() for thread in threads]
    [thread.join() for thread in threads]
    assert errors == [] and len(numbers) == 4 and len(set(numbers)) == 1
    assert db.session.scalar(select(func.count()).select_from(Order).where(Order.plan_id == plan_id)) == 1


def _patient_sqlite() -> None:
    """SQLite has one writer at a time: let the others wait for it rather than give up after 5 s."""
    if db.engine.dialect.name == "sqlite":
        db.session.execute(text("PRAGMA busy_timeout = 30000"))


# The state machine


@pytest.mark.parametrize("source, target", LEGAL)
def test_every_allowed_transition_moves_the_order_and_records_its_cause(ctx, source, target):
    order = order_in(source)
    orders.transition(order, target, "staff", {"by": "agent 7"})
    db.session.commit()
    db.session.expire_all()
    assert order.state == target
    last = order.transitions[-1]
    assert (last.from_state, last.to_state, last.cause, json.loads(last.details)) == (
        source,
        target,
        "staff",
        {"by": "agent 7"},
    )
    assert order.pending_key is None
    assert (order.paid_at is not None) == (target == "paid")
    assert (order.fulfilled_at is not None) == (target == "fulfilled")


@pytest.mark.parametrize("source, target", ILLEGAL)
def test_every_other_transition_raises_and_changes_nothing(ctx, source, target):
    order = order_in(source)
    before = count(OrderTransition)
    with pytest.raises(orders.IllegalTransition):
        orders.transition(order, target, "staff")
    db.session.commit()
    db.session.expire_all()
    assert order.state == source and count(OrderTransition) == before


def test_a_transition_needs_a_known_cause(ctx):
    with pytest.raises(ValueError):
        orders.transition(new_order(), "paid", "because")


def test_details_may_be_plain_text(ctx):
    order = new_order()
    orders.cancel(order, "staff", {"note": "customer changed mind"})
    orders_timeline = [(t.to_state, t.cause) for t in order.transitions]
    assert orders_timeline == [("pending_payment", "checkout"), ("cancelled", "staff")]
    order2 = new_order("hk-1d")
    orders.transition(order2, "paid", "return_page", "plain words")
    assert order2.transitions[-1].details == "plain words"


def test_a_stale_copy_of_an_order_cannot_apply_a_second_transition(ctx):
    order = new_order()
    order_id = order.id
    with ctx.app_context():  # another request or worker, with its own session
        other = db.session.get(Order, order_id)
        orders.transition(other, "paid", "notification")
        db.session.commit()
        db.session.remove()
    assert order.state == "pending_payment"  # this session still has the old state in memory
    with pytest.raises(orders.IllegalTransition):
        orders.expire(order, "job")
    assert order.state == "paid"
    db.session.rollback()
    assert db.session.get(Order, order_id).state == "paid"
    assert [t.to_state for t in db.session.get(Order, order_id).transitions] == ["pending_payment", "paid"]


def test_expire_and_cancel_only_leave_pending_payment(ctx):
    paid = order_in("paid")
    for leave in (orders.expire, orders.cancel):
        with pytest.raises(orders.IllegalTransition):
            leave(paid, "job")


# Numbers


def test_order_numbers_are_short_unambiguous_and_do_not_repeat():
    numbers = [orders.new_order_number() for _ in range(2000)]
    assert len(set(numbers)) == 2000
    assert all(NUMBER.match(number) for number in numbers), numbers[:5]
    assert not set("ILOU") & set("".join(number[9:] for number in numbers))
    assert all(len(number) == 15 for number in numbers)


def test_an_order_number_read_out_loosely_still_finds_the_order(ctx):
    order = new_order()
    account = order.card.account
    spoken = order.number.lower().replace("0", "o").replace("1", "l").replace("-", " ")
    assert orders.find_for_account(spoken, account) is order
    assert orders.find_for_account(order.number.replace("-", ""), account) is order


def test_an_order_is_found_only_for_its_own_account(ctx):
    order = new_order()
    stranger = make_account("+85290000009")
    assert orders.find_for_account(order.number, stranger) is None
    assert orders.find_for_account("RR000000-XXXXXX", order.card.account) is None
    assert orders.find_for_account("x" * 500, order.card.account) is None
    assert orders.find_for_account(order.number, None) is None
