"""Admins keep the locations: add, edit on the version they opened, close for good; never deleted, every
change audited. Bad hours (a backwards range of days, 25:00) are refused beside the field; hours that
cross midnight are fine."""

from conftest import csrf_token
from sqlalchemy import func, select
from staff_support import make_staff, staff_sign_in
from test_staff_money_pages import hidden_inputs

from extensions import db
from models import Location

FIELDS = {
    "code": "tsim-sha-tsui",
    "kind": "partner_store",
    "district": "yau_tsim_mong",
    "name_en": "TST Phone Corner",
    "name_zh_hans": "尖沙咀手机角",
    "name_zh_hant": "尖沙咀手機角",
    "address_en": "G/F, 1 Hankow Road",
    "address_zh_hans": "汉口道1号地下",
    "address_zh_hant": "漢口道1號地下",
    "hours": "Mon-Thu 10:00-22:00; Fri-Sun 10:00-02:00",
    "renews": "y",
    "takes_cash": "y",
    "latitude": "22.2950",
    "longitude": "114.1720",
}


def admin(app, client) -> str:
    secret = make_staff(app, "root", "admin")
    assert staff_sign_in(client, "root", secret).status_code == 303
    return csrf_token(client.get("/staff/locations/new").text)


def location(app, code="tsim-sha-tsui"):
    with app.app_context():
        found = db.session.scalars(select(Location).where(Location.code == code)).first()
        if found is not None:
            db.session.expunge(found)
        return found


def test_an_admin_adds_edits_and_closes_a_location_and_each_step_is_audited(app, client):
    token = admin(app, client)
    assert client.post("/staff/locations/new", data={"csrf_token": token, **FIELDS}).status_code == 303
    made = location(app)
    assert (made.name_zh_hant, made.version, made.takes_cash, made.sells_sims) == ("尖沙咀手機角", 1, True, False)
    assert "TST Phone Corner" in client.get("/shops").text

    edit_page = client.get("/staff/locations/tsim-sha-tsui").text
    opened = hidden_inputs(edit_page)
    assert opened["version"] == "1"
    changed = {**FIELDS, **opened, "temporarily_closed": "y", "code": "renamed"}
    assert client.post("/staff/locations/tsim-sha-tsui", data=changed).status_code == 303
    edited = location(app)
    assert edited.temporarily_closed and edited.version == 2 and location(app, "renamed") is None  # the code stays

    stale = client.post("/staff/locations/tsim-sha-tsui", data={**FIELDS, **opened})  # opened on version 1
    assert stale.status_code == 422 and "changed this location meanwhile" in stale.text
    assert location(app).temporarily_closed

    closing = client.post("/staff/locations/tsim-sha-tsui/close", data={"csrf_token": token})
    assert closing.status_code == 303 and location(app).closed_at is not None
    assert "TST Phone Corner" not in client.get("/shops").text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Location)) == 1  # closed, not deleted
    rows = _all(app)
    assert [row.action for row in rows] == ["location.create", "location.update", "location.close"]
    assert '"temporarily_closed": false' in rows[1].before and '"temporarily_closed": true' in rows[1].after


def _all(app):
    from models import AuditEntry

    with app.app_context():
        rows = list(
            db.session.scalars(select(AuditEntry).where(AuditEntry.action.like("location.%")).order_by(AuditEntry.id))
        )
        db.session.expunge_all()
        return rows


def test_bad_hours_and_other_bad_fields_are_refused_beside_the_field_and_save_nothing(app, client):
    token = admin(app, client)
    for changes, field in (
        ({"hours": "Fri-Mon 10:00-22:00"}, "hours"),
        ({"hours": "Daily 10:00-25:00"}, "hours"),
        ({"hours": "Daily 10:00-10:00"}, "hours"),
        ({"code": "Bad Code!"}, "code"),
        ({"kind": "bank"}, "kind"),
        ({"name_zh_hant": ""}, "name_zh_hant"),
        ({"latitude": "48.85", "longitude": "2.35"}, "latitude"),  # Paris is not a place to renew
        ({"name_en": "Desk\u0000A"}, None),
    ):
        response = client.post("/staff/locations/new", data={"csrf_token": token, **FIELDS, **changes})
        assert 400 <= response.status_code < 500, changes
        if field:
            assert f'id="{field}-error"' in response.text, changes
    assert location(app) is None


def test_hours_that_cross_midnight_are_kept_and_shown(app, client):
    token = admin(app, client)
    client.post("/staff/locations/new", data={"csrf_token": token, **FIELDS, "hours": "Daily 18:00-03:00"})
    assert location(app).hours == "Daily 18:00-03:00"
    assert "18:00–03:00" in client.get("/shops").text
