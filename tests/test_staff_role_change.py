"""A role changes through the rule: the person's sessions end, an admin cannot change their own role, only an
admin can change one, and an unknown role is refused. The sales page counts orders in plural forms."""

import pytest
from staff_support import make_staff, paid_order_number, staff_sign_in

from extensions import db


def test_change_role_ends_sessions_and_refuses_own_role_and_non_admins(app):
    from rules.staff import actors, staff_accounts

    make_staff(app, "root", "admin")
    make_staff(app, "kit", "agent")
    make_staff(app, "mei", "supervisor")
    with app.test_request_context():
        root, kit, mei = (staff_accounts.find(name) for name in ("root", "kit", "mei"))
        token = kit.session_token
        assert staff_accounts.change_role(kit, "supervisor", root) == (
            {"username": "kit", "role": "agent"},
            {"username": "kit", "role": "supervisor"},
        )
        assert kit.role == "supervisor" and kit.session_token != token
        assert staff_accounts.change_role(kit, "supervisor", root) is None  # already theirs: nothing to do
        with pytest.raises(staff_accounts.StaffRefused):
            staff_accounts.change_role(root, "agent", root)
        with pytest.raises(staff_accounts.StaffRefused):
            staff_accounts.change_role(kit, "owner", root)
        with pytest.raises(actors.NotAllowed):
            staff_accounts.change_role(kit, "agent", mei)
        db.session.commit()
        assert root.role == "admin" and kit.role == "supervisor"


def test_the_sales_page_says_one_order_not_one_orders(app, client):
    paid_order_number(app)
    secret = make_staff(app, "mei", "supervisor")
    assert staff_sign_in(client, "mei", secret).status_code == 303
    page = client.get("/staff/sales").text
    summary = page.split("<h1>", 1)[1].split("</p>", 1)[0]
    assert ": 1 order," in summary and "1 orders" not in summary, summary
