"""Staff's order search box: what it understands, its filters and paging, and that bad text is harmless."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event, select

from extensions import db
from models import Account, Card, Order, Plan, Refund
from rules.staff import order_search
from rules.travellers import iccid
from sandbox import demo_data

ICCID = iccid.with_check_digit("898520012345678901")  # 8985200123456789017
TRADE_NO = "2026112822001234567890123456"
BASE = datetime(2026, 11, 20, 4, 0)  # 12:00 in Hong Kong


def add_order(card, plan, number, created_at, state="fulfilled", account=None, trade_no=None):
    order = Order(
        number=number,
        account_id=(account or card.account).id,
        card_id=card.id,
        plan_id=plan.id,
        state=state,
        currency="HKD",
        price_cents=5800,
        total_cents=5800,
        validity_start=created_at,
        validity_end=created_at + timedelta(days=3),
        created_at=created_at,
        pay_by=created_at + timedelta(minutes=15),
        trade_no=trade_no,
        paid_at=created_at if trade_no else None,
    )
    db.session.add(order)
    return order


@pytest.fixture
def world(app):
    """Two travellers: Ann (+852 9123 4567, card +852 6123 4567 with ICCID) and Bo (mainland), orders a day apart."""
    with app.test_request_context():
        demo_data.seed()
        plan = db.session.scalars(select(Plan).where(Plan.code == "gba-3d")).one()
        ann = Account(phone="+85291234567")
        bo = Account(phone="+8613800138000")
        db.session.add_all([ann, bo])
        db.session.flush()
        ann_card = Card(msisdn="+85261234567", iccid=ICCID, account_id=ann.id)
        bo_card = Card(msisdn="+8613912345678", iccid=iccid.with_check_digit("898600987654321098"), account_id=bo.id)
        db.session.add_all([ann_card, bo_card])
        db.session.flush()
        for day in range(5):
            add_order(ann_card, plan, f"RR2611{20 + day:02d}-A{day}BCDE", BASE + timedelta(days=day))
        add_order(bo_card, plan, "RR261121-BOBOB1", BASE + timedelta(days=1, hours=1), "paid", trade_no=TRADE_NO)
        # Ann paid once for Bo's card from her own account: found by her number too.
        add_order(bo_card, plan, "RR261126-ANNBO1", BASE + timedelta(days=6), "pending_payment", account=ann)
        db.session.commit()
    return app


def numbers(page):
    return [order.number for order in page.orders]


@pytest.mark.parametrize(
    "typed",
    [
        "RR261122-A2BCDE",
        "rr261122-a2bcde",
        " rr 261122 a2bcde ",
        "RR261122A2BCDE",
        "ＲＲ２６１１２２－Ａ２ＢＣＤＥ",
        "RR261122–A2BCDE",  # an en dash
    ],
)
def test_an_order_number_is_found_in_any_case_spacing_or_width(world, typed):
    with world.app_context():
        page = order_search.search(typed)
        assert page.kind == "order_number" and numbers(page) == ["RR261122-A2BCDE"]


def test_o_and_i_or_l_read_out_at_the_counter_find_the_order(world):
    with world.app_context():
        db.session.scalars(select(Order).where(Order.number == "RR261122-A2BCDE")).one().number = "RR261122-1X0K01"
        db.session.commit()
        assert numbers(order_search.search("rr261122-ixokol")) == ["RR261122-1X0K01"]


@pytest.mark.parametrize("typed", ["+852 9123 4567", "91234567", "9123-4567", "85291234567", "(852) 9123 4567"])
def test_the_accounts_number_in_any_format_finds_all_its_orders(world, typed):
    with world.app_context():
        page = order_search.search(typed)
        assert page.kind == "phone"
        assert numbers(page)[0] == "RR261126-ANNBO1" and len(page.orders) == 6  # newest first, other card too


@pytest.mark.parametrize("typed", ["+86 139 1234 5678", "13912345678", "8613912345678", "0086 13912345678"])
def test_the_cards_number_finds_its_orders_whoever_ordered(world, typed):
    with world.app_context():
        page = order_search.search(typed)
        assert page.kind == "phone" and numbers(page) == ["RR261126-ANNBO1", "RR261121-BOBOB1"]


def test_digits_of_another_script_are_read_as_digits(world):
    with world.app_context():
        arabic_indic = "٩١٢٣٤٥٦٧"  # 91234567
        assert order_search.search(arabic_indic).kind == "phone"
        assert len(order_search.search(arabic_indic).orders) == 6
        assert numbers(order_search.search("৭০১৭")) == numbers(order_search.search("7017"))  # Bengali ICCID tail


@pytest.mark.parametrize("typed", [ICCID, "8985 2001 2345 6789 017", "8985-2001-2345-6789-017"])
def test_a_whole_iccid_finds_the_cards_orders(world, typed):
    with world.app_context():
        page = order_search.search(typed)
        assert page.kind == "iccid" and len(page.orders) == 5
        assert {order.card.iccid for order in page.orders} == {ICCID}


@pytest.mark.parametrize("tail", ["9017", "89017", "789017"])
def test_the_last_4_to_6_digits_of_an_iccid_find_the_card(world, tail):
    with world.app_context():
        page = order_search.search(tail)
        assert page.kind == "iccid_tail" and len(page.orders) == 5


def test_a_tail_matches_only_the_end_of_an_iccid(world):
    with world.app_context():
        assert order_search.search("8985").orders == []  # the start of every ICCID, not its end
        assert order_search.search("0000").orders == []


def test_an_alipay_trade_number_finds_its_order(world):
    with world.app_context():
        page = order_search.search(TRADE_NO)
        assert page.kind == "trade_no" and numbers(page) == ["RR261121-BOBOB1"]
        assert order_search.search(" 2026 1128 2200 1234 5678 9012 3456 ").kind == "trade_no"


def test_a_trade_refunded_against_an_order_finds_that_order(world):
    with world.app_context():
        order = db.session.scalars(select(Order).where(Order.number == "RR261120-A0BCDE")).one()
        db.session.add(
            Refund(order_id=order.id, out_request_no="x-late", amount_cents=5800, trade_no="2026" + "1" * 18)
        )
        db.session.commit()
        assert numbers(order_search.search("2026" + "1" * 18)) == ["RR261120-A0BCDE"]


def test_an_empty_box_lists_every_order_newest_first(world):
    with world.app_context():
        page = order_search.search("")
        assert page.kind == "empty" and len(page.orders) == 7
        created = [(order.created_at, order.id) for order in page.orders]
        assert created == sorted(created, reverse=True)


def test_the_state_filter(world):
    with world.app_context():
        assert numbers(order_search.search("", state="paid")) == ["RR261121-BOBOB1"]
        assert len(order_search.search("91234567", state="fulfilled").orders) == 5
        assert order_search.search("", state="no-such-state").orders == []


def test_the_date_filter_takes_hong_kong_days(world):
    with world.app_context():
        # 2026-11-21 in Hong Kong: Ann's 12:00 order and Bo's 13:00 one.
        page = order_search.search("", date_from=date(2026, 11, 21), date_to=date(2026, 11, 21))
        assert numbers(page) == ["RR261121-BOBOB1", "RR261121-A1BCDE"]
        order = db.session.scalars(select(Order).where(Order.number == "RR261121-A1BCDE")).one()
        order.created_at = datetime(2026, 11, 20, 16, 0)  # 00:00 on the 21st in Hong Kong: still that day
        db.session.commit()
        assert "RR261121-A1BCDE" in numbers(order_search.search("", date_from=date(2026, 11, 21)))
        order.created_at = datetime(2026, 11, 20, 15, 59)  # 23:59 on the 20th in Hong Kong
        db.session.commit()
        assert "RR261121-A1BCDE" not in numbers(order_search.search("", date_from=date(2026, 11, 21)))
        assert "RR261121-A1BCDE" in numbers(order_search.search("", date_to=date(2026, 11, 20)))


def test_pages_follow_on_without_gaps_or_repeats(world):
    with world.app_context():
        first = order_search.search("", per_page=3)
        second = order_search.search("", page=2, per_page=3)
        third = order_search.search("", page=3, per_page=3)
        assert first.has_next and second.has_next and not third.has_next
        assert (first.page, second.page, third.page) == (1, 2, 3)
        seen = numbers(first) + numbers(second) + numbers(third)
        assert len(seen) == len(set(seen)) == 7
        assert order_search.search("", page=0, per_page=-5).page == 1  # nonsense paging is clamped
        assert order_search.search("", page=10**9).orders == []  # no walking a million rows to skip them


@pytest.mark.parametrize(
    "typed",
    [
        "'; DROP TABLE orders; --",
        "<script>alert(1)</script>",
        "\x00",
        "9" * 10_000,
        "x" * 10_240,
        "RR' OR '1'='1",
        "%",
        "_",
        "123",
        "+1 212 555 0100",
        "😀",
        "²³⁴⁵",
        "RR261122-A2BCD!",
    ],
)
def test_bad_text_finds_nothing_and_raises_nothing(world, typed):
    with world.app_context():
        page = order_search.search(typed)
        assert page.orders == [] and page.kind in order_search.KINDS
        assert db.session.scalar(select(db.func.count()).select_from(Order)) == 7


def test_control_characters_pasted_with_a_number_are_ignored(world):
    with world.app_context():
        assert len(order_search.search("91234567\x00").orders) == 6
        assert len(order_search.search("\t9123 4567\r\n").orders) == 6


def test_understands_each_kind():
    cases = {
        "RR261122-A2BCDE": "order_number",
        "+852 9123 4567": "phone",
        "8613800138000": "phone",
        "13800138000": "phone",
        ICCID: "iccid",
        "1234": "iccid_tail",
        TRADE_NO: "trade_no",
        "": "empty",
        "   ": "empty",
        "hello": "unknown",
    }
    assert {typed: order_search.understand(typed)[0] for typed in cases} == cases


def test_the_list_loads_card_plan_and_account_in_a_fixed_number_of_queries(world):
    def queries_for(per_page):
        with world.app_context():
            statements = []
            listen = lambda *args: statements.append(args[2])  # noqa: E731
            event.listen(db.engine, "before_cursor_execute", listen)
            try:
                page = order_search.search("", per_page=per_page)
                for order in page.orders:
                    _ = order.card.msisdn, order.plan.name_en, order.account.phone
            finally:
                event.remove(db.engine, "before_cursor_execute", listen)
            return len(statements), len(page.orders)

    few, many = queries_for(1), queries_for(7)
    assert few[1] == 1 and many[1] == 7
    assert few[0] == many[0] <= 4


def test_the_migration_fills_the_reversed_iccid_of_existing_cards(tmp_path):
    import flask_migrate
    from sqlalchemy import text

    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "m.db"), "TESTING": True})
    with app.app_context():
        flask_migrate.upgrade(revision="2afb346827c0")
        db.session.execute(
            text(
                "INSERT INTO card (id, msisdn, iccid, created_at) VALUES (1, '+85261234567', :iccid, :now),"
                " (2, '+85261234568', NULL, :now)"
            ),
            {"iccid": ICCID, "now": BASE},
        )
        db.session.commit()
        flask_migrate.upgrade()
        rows = db.session.execute(text("SELECT id, iccid_reversed FROM card ORDER BY id")).all()
        assert [tuple(row) for row in rows] == [(1, ICCID[::-1]), (2, None)]
        flask_migrate.downgrade(revision="2afb346827c0")
        assert db.session.execute(text("SELECT count(*) FROM card")).scalar() == 2
        db.session.remove()
        db.engine.dispose()


def test_a_card_bound_through_the_site_is_found_by_its_iccid_tail(app, client, sign_in):
    from conftest import bind_card, make_order

    sign_in()
    assert bind_card(app, client, "6123 4567", ICCID).status_code == 303
    number = make_order(app)
    with app.app_context():
        assert numbers(order_search.search(ICCID[-5:])) == [number]
        card = db.session.scalars(select(Card).where(Card.iccid == ICCID)).one()
        card.iccid = None  # its ICCID proven to be another number's (card_binding)
        db.session.commit()
        assert card.iccid_reversed is None and order_search.search(ICCID[-5:]).orders == []


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("5555 1234", "+85255551234"),  # a range the numbering plan has not given out (any more)
        ("+852 6000 0001", "+85260000001"),
        ("00852 5555 1234", "+85255551234"),
        ("852 5555 1234", "+85255551234"),
        ("+86 100 0000 0000", "+8610000000000"),
        ("10000000000", "+8610000000000"),
    ],
)
def test_a_well_formed_number_the_numbering_plan_does_not_list_still_finds_its_account(app, client, typed, stored):
    from staff_support import make_staff, staff_sign_in

    with app.test_request_context():
        demo_data.seed()
        plan = db.session.scalars(select(Plan).where(Plan.code == "gba-3d")).one()
        imported = Account(phone=stored)  # made before a plan change, or imported
        card = Card(msisdn="+85261234567", iccid=ICCID, account=imported)
        db.session.add_all([imported, card])
        db.session.flush()
        add_order(card, plan, "RR261120-OLDNO1", BASE)
        db.session.commit()
        assert order_search.understand(typed) == ("phone", stored)
    make_staff(app, "kit", "agent")
    assert staff_sign_in(client, "kit").status_code == 303
    found = client.get("/staff", query_string={"q": typed})
    assert found.status_code == 200 and "RR261120-OLDNO1" in found.text


@pytest.mark.parametrize("typed", ["+852 5555 123", "+86 200 0000 0000", "+1 555 123 4567", "0085255551234567"])
def test_a_number_of_the_wrong_shape_is_still_nothing_to_search_for(typed):
    assert order_search.understand(typed)[0] != "phone"
