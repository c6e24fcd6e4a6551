"""Admins' pages: plans and promotions are created, edited and taken off sale through forms (mistakes
beside their fields, nothing saved); staff accounts change role or are disabled. Every change is audited."""

from conftest import csrf_token, make_order
from staff_support import audit_rows, make_staff, staff_sign_in

from extensions import db

PLAN = {
    "code": "hk-5d",
    "name_en": "Hong Kong 5-Day",
    "name_zh_hans": "香港5天",
    "name_zh_hant": "香港5日",
    "region": "hk",
    "days": "5",
    "data_mb": "8192",
    "voice_minutes": "30",
    "price": "68.00",
}


def admin(app, client):
    secret = make_staff(app, "root", "admin")
    assert staff_sign_in(client, "root", secret).status_code == 303


def plan(app, code):
    from models import Plan

    with app.app_context():
        found = db.session.scalars(db.select(Plan).where(Plan.code == code)).first()
        return None if found is None else (found.price_cents, found.active)


def test_an_admin_creates_edits_and_takes_a_plan_off_sale_through_the_pages(app, client):
    make_order(app)  # the demo catalogue
    admin(app, client)
    token = csrf_token(client.get("/staff/admin/plans/new").text)
    bad = client.post("/staff/admin/plans/new", data={"csrf_token": token, **PLAN, "price": "lots", "region": "mars"})
    assert bad.status_code == 422 and 'id="f-price-error"' in bad.text and 'id="f-region-error"' in bad.text
    assert plan(app, "hk-5d") is None
    assert client.post("/staff/admin/plans/new", data={"csrf_token": token, **PLAN}).status_code == 303
    assert plan(app, "hk-5d") == (6800, True)
    edit = client.get("/staff/admin/plans/hk-5d")
    assert edit.status_code == 200 and "香港5天" in edit.text
    form = {**PLAN, "price": "72.50", "csrf_token": token}
    assert client.post("/staff/admin/plans/hk-5d", data=form).status_code == 303
    assert client.post("/staff/admin/plans/hk-5d/active", data={"csrf_token": token, "active": "0"}).status_code == 303
    assert plan(app, "hk-5d") == (7250, False)
    assert [len(audit_rows(app, a)) for a in ("plan.create", "plan.update", "plan.active")] == [1, 1, 1]
    listed = client.get("/staff/admin/plans").text
    assert "hk-5d" in listed and "Offer again" in listed and "on sale" not in listed  # active, not a sale price
    assert client.get("/staff/admin/plans/no-such-plan").status_code == 404
    assert client.get("/staff/admin/nothing").status_code == 404


def test_an_admin_creates_a_promotion(app, client):
    admin(app, client)
    token = csrf_token(client.get("/staff/admin/promotions/new").text)
    form = {"csrf_token": token, "code": "SPRING25", "percent_off": "25"}
    assert client.post("/staff/admin/promotions/new", data=form).status_code == 303
    assert "SPRING25" in client.get("/staff/admin/promotions").text
    assert len(audit_rows(app, "promotion.create")) == 1


def test_an_admin_changes_a_role_and_disables_an_account_which_ends_its_session(app, client):
    from models import StaffUser

    make_staff(app, "kit", "agent")
    other = app.test_client()
    assert staff_sign_in(other, "kit").status_code == 303
    admin(app, client)
    token = csrf_token(client.get("/staff/admin/staff").text)
    assert (
        client.post("/staff/admin/staff/kit/role", data={"csrf_token": token, "role": "supervisor"}).status_code == 303
    )
    assert client.post("/staff/admin/staff/kit/disable", data={"csrf_token": token}).status_code == 303
    assert client.post("/staff/admin/staff/root/disable", data={"csrf_token": token}).status_code == 303  # not oneself
    with app.app_context():
        kit = db.session.scalars(db.select(StaffUser).where(StaffUser.username == "kit")).one()
        root = db.session.scalars(db.select(StaffUser).where(StaffUser.username == "root")).one()
        assert kit.role == "supervisor" and kit.disabled_at is not None and root.disabled_at is None
    assert other.get("/staff").status_code in (302, 303)
    assert [e.after for e in audit_rows(app, "staff.role")] and len(audit_rows(app, "staff.disable")) == 1
