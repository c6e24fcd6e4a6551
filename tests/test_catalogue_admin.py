"""Admins create, edit and deactivate plans and promo codes: every field checked, nothing an order
refers to deleted, a price change never touches an order already made, and every worker's page cache
forgets its catalogue pages within a second of a change."""

import time
from dataclasses import replace
from datetime import datetime
from types import SimpleNamespace

import pytest
from conftest import load_order, make_order
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from extensions import db
from models import Plan, Promotion
from rules.offers import catalogue, catalogue_admin, catalogue_version
from rules.offers.catalogue_admin import CatalogueRefused
from rules.staff import actors
from web import page_cache
from web.catalogue_forms import PlanForm, PromotionForm, hk_time

ADMIN = SimpleNamespace(id=1, username="ada", role="admin")
SUPERVISOR = SimpleNamespace(id=2, username="mei", role="supervisor")
PLAN = {
    "code": "hk-5d",
    "name_en": "Hong Kong 5-Day",
    "name_zh_hans": "香港5天",
    "name_zh_hant": "香港5日",
    "region": "hk",
    "days": "5",
    "data_mb": "8192",
    "voice_minutes": "30",
    "price": "HK$68.00",
}
PROMO = {"code": "spring25", "percent_off": "25", "starts_at": "2026-03-01", "ends_at": "2026-04-01 00:00"}


def posted(form_class, data):
    """The form as posted with `data` (in a request): read, its mistakes found."""
    form = form_class(formdata=MultiDict(data), meta={"csrf": False})
    form.validate()
    return form


def admin(app, action, data, actor=ADMIN):
    """`action` (create_plan or create_promotion) given the values and mistakes of its form posted with `data`."""
    form_class = PlanForm if action is catalogue_admin.create_plan else PromotionForm
    with app.test_request_context():
        form = posted(form_class, data)
        change = action(form.values(), actor, form.mistakes())
        db.session.commit()
        return change.before, change.after


def shown(form):
    """The fields of a form as its page shows them (what an unchanged edit posts back)."""
    return {f.name: f._value() for f in form.editable() if f.type != "TickField"} | (
        {"unlimited": "on"} if "unlimited" in form and form.unlimited.data else {}
    )


def find(model, code):
    return db.session.scalars(select(model).where(model.code == code)).one()


def test_an_admin_creates_a_plan_that_goes_on_sale(app):
    _, after = admin(app, catalogue_admin.create_plan, PLAN)
    assert after["price_cents"] == 6800 and after["name_zh_hant"] == "香港5日" and after["active"] is True
    with app.app_context():
        assert [p.code for p in catalogue.active_plans()] == ["hk-5d"]


def test_an_unlimited_plan_needs_a_fair_use_limit_and_a_sale_needs_a_window_below_the_price(app):
    with pytest.raises(CatalogueRefused) as refused:
        admin(app, catalogue_admin.create_plan, {**PLAN, "unlimited": "on", "sale_price": "70"})
    assert set(refused.value.errors) == {"fair_use_mb", "sale_price", "sale_starts_at", "sale_ends_at"}
    _, after = admin(
        app,
        catalogue_admin.create_plan,
        {
            **PLAN,
            "unlimited": "on",
            "fair_use_mb": "3072",
            "sale_price": "58",
            "sale_starts_at": "2026-12-01 00:00",
            "sale_ends_at": "2026-12-08 00:00",
        },
    )
    assert (after["data_mb"], after["fair_use_mb"], after["sale_price_cents"]) == (None, 3072, 5800)
    assert after["sale_starts_at"] == "2026-11-30T16:00:00"  # Hong Kong midnight in UTC


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"name_zh_hans": ""}, "name_zh_hans"),
        ({"name_en": ""}, "name_en"),
        ({"region": "mo"}, "region"),
        ({"days": "0"}, "days"),
        ({"days": "-3"}, "days"),
        ({"data_mb": "0"}, "data_mb"),
        ({"price": "0"}, "price"),
        ({"price": "12.345"}, "price"),
        ({"price": "-1"}, "price"),
        ({"code": "Bad Code!"}, "code"),
        ({"currency": "USD"}, "currency"),
        ({"sale_price": "60", "sale_starts_at": "2026-12-08", "sale_ends_at": "2026-12-01"}, "sale_ends_at"),
        ({"sale_price": "60", "sale_starts_at": "tomorrow", "sale_ends_at": "2026-12-01"}, "sale_starts_at"),
    ],
)
def test_a_plan_with_a_bad_field_is_refused_naming_the_field_and_nothing_is_saved(app, changes, field):
    with pytest.raises(CatalogueRefused) as refused:
        admin(app, catalogue_admin.create_plan, {**PLAN, **changes})
    assert refused.value.errors.get(field)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Plan)) == 0
        assert catalogue_version.current() == 0


def test_only_an_admin_edits_the_catalogue(app):
    with pytest.raises(actors.NotAllowed):
        admin(app, catalogue_admin.create_plan, PLAN, actor=SUPERVISOR)


def test_two_plans_cannot_share_a_code(app):
    admin(app, catalogue_admin.create_plan, PLAN)
    with pytest.raises(CatalogueRefused) as refused:
        admin(app, catalogue_admin.create_plan, {**PLAN, "code": "HK-5D"})
    assert "code" in refused.value.errors


def test_a_price_change_never_changes_an_order_already_made(app):
    number = make_order(app, plan_code="gba-3d")
    with app.test_request_context():
        plan = find(Plan, "gba-3d")
        catalogue_admin.update_plan(plan, replace(PlanForm.of(plan).values(), price_cents=9900), ADMIN)
        db.session.commit()
        assert plan.price_cents == 9900
    order = load_order(app, number)
    assert (order.price_cents, order.total_cents) == (5800, 5800)


def test_a_deactivated_plan_leaves_the_catalogue_but_is_never_deleted(app):
    number = make_order(app, plan_code="gba-3d")
    with app.test_request_context():
        before = catalogue_version.current()
        change = catalogue_admin.set_plan_active(find(Plan, "gba-3d"), False, ADMIN)
        db.session.commit()
        assert (change.before, change.after) == ({"active": True}, {"active": False})
        assert catalogue.plan_by_code("gba-3d") is None and catalogue_version.current() == before + 1
        assert find(Plan, "gba-3d") is not None
    assert load_order(app, number).plan.code == "gba-3d"
    assert not [name for name in dir(catalogue_admin) if "delete" in name.lower()]


def test_an_admin_creates_edits_and_deactivates_a_promotion(app):
    _, after = admin(app, catalogue_admin.create_promotion, PROMO)
    assert (after["code"], after["percent_off"], after["amount_off_cents"]) == ("SPRING25", 25, None)
    with app.test_request_context():
        promotion = find(Promotion, "SPRING25")
        form = posted(
            PromotionForm,
            {**shown(PromotionForm.of(promotion)), "percent_off": "", "amount_off": "15", "max_uses": "100"},
        )
        change = catalogue_admin.update_promotion(promotion, form.values(), ADMIN, form.mistakes())
        assert (change.after["percent_off"], change.after["amount_off_cents"], change.after["max_uses"]) == (
            None,
            1500,
            100,
        )
        catalogue_admin.set_promotion_active(promotion, False, ADMIN)
        db.session.commit()
        assert find(Promotion, "SPRING25").active is False


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"code": "AB"}, "code"),
        ({"code": "SPRING-25"}, "code"),
        ({"code": "X" * 33}, "code"),
        ({"percent_off": "0"}, "percent_off"),
        ({"percent_off": "101"}, "percent_off"),
        ({"amount_off": "10"}, "percent_off"),  # both given
        ({"percent_off": ""}, "percent_off"),  # neither given
        ({"percent_off": "", "amount_off": "-10"}, "amount_off"),
        ({"ends_at": "2026-02-01"}, "ends_at"),
        ({"max_uses": "0"}, "max_uses"),
        ({"max_uses_per_account": "x"}, "max_uses_per_account"),
    ],
)
def test_a_promotion_with_a_bad_field_is_refused(app, changes, field):
    with pytest.raises(CatalogueRefused) as refused:
        admin(app, catalogue_admin.create_promotion, {**PROMO, **changes})
    assert field in refused.value.errors
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Promotion)) == 0


def test_a_code_orders_have_used_cannot_be_renamed(app):
    make_order(app, promo="WELCOME10")
    with app.test_request_context():
        promotion = find(Promotion, "WELCOME10")
        values = replace(PromotionForm.of(promotion).values(), code="HELLO10")
        with pytest.raises(CatalogueRefused, match="cannot be renamed"):
            catalogue_admin.update_promotion(promotion, values, ADMIN)


def test_a_change_through_one_worker_empties_the_page_cache_of_another(app_with, plans):
    first, second = app_with(), app_with()  # two workers: two processes' caches on one database
    visitor_1, visitor_2 = first.test_client(), second.test_client()
    assert "HK$18.00" in visitor_1.get("/plans/hk-1d").text
    assert "HK$18.00" in visitor_2.get("/plans/hk-1d").text
    with first.test_request_context():
        plan = find(Plan, "hk-1d")
        catalogue_admin.update_plan(plan, replace(PlanForm.of(plan).values(), price_cents=2000), ADMIN)
        db.session.commit()
    assert "HK$18.00" in visitor_2.get("/plans/hk-1d").text  # checked less than a second ago: cached
    time.sleep(page_cache.VERSION_CHECK_SECONDS + 0.1)
    assert "HK$20.00" in visitor_2.get("/plans/hk-1d").text
    assert "HK$20.00" in visitor_1.get("/plans/hk-1d").text


def test_the_page_cache_asks_the_database_at_most_once_a_second(app, client, plans, monkeypatch):
    asked = []
    real = catalogue_version.current
    monkeypatch.setattr(catalogue_version, "current", lambda: asked.append(1) or real())
    for _ in range(5):
        client.get("/plans")
    assert len(asked) == 1


def test_times_are_read_as_hong_kong_time():
    assert hk_time("2026-12-01 09:00") == datetime(2026, 12, 1, 1, 0)
    assert hk_time("2026-12-01T09:00") == datetime(2026, 12, 1, 1, 0)
    with pytest.raises(ValueError):
        hk_time("01/12/2026")


@pytest.mark.parametrize("code", ["hk-1d", "trio-3d-unl"])
def test_a_plan_shown_for_editing_reads_back_unchanged(app, code):
    make_order(app)  # the demo catalogue
    with app.test_request_context():
        plan = find(Plan, code)
        plan.sale_price_cents, plan.sale_starts_at, plan.sale_ends_at = (
            4000,
            datetime(2026, 12, 1),
            datetime(2027, 1, 1),
        )
        form = posted(PlanForm, shown(PlanForm.of(plan)))
        assert form.mistakes() == {} and form.values() == PlanForm.of(plan).values()
