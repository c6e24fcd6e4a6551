"""The role matrix, generated from the URL map: every staff endpoint × partner of location A, partner of
location B, agent, supervisor, admin, traveller and anonymous visitor, allowed or refused as the view's
declared least role (and whether it lets partners in) says.

Each staff view declares its least role with @staff_required(role) or @staff_public; a staff route
that declares nothing fails here, so a new route cannot slip in open. A partner reaches only the views
declared with partner=True, and there only its own location's records: the other partner's counter
receipt is a 404 to it."""

import uuid
from types import SimpleNamespace

import pytest
from conftest import csrf_token
from shops_support import make_location, make_partner
from staff_support import make_staff, paid_order_number, staff_sign_in

from rules.staff.staff_accounts import ROLES, role_at_least
from web.staff_auth import PUBLIC

VISITORS = ("partner_a", "partner_b", "agent", "supervisor", "admin", "traveller", "anonymous")
FORM = {
    "reason": "role matrix",
    "kind": "confirmation",
    "request_id": uuid.uuid4().hex,
    "reference": "CARRIER-1",
    "body": "role matrix note",
    "code": "123456",
    "username": "nobody",
    "password": "not a password",
}


def staff_endpoints(app) -> list:
    return sorted(
        (rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("staff.")),
        key=lambda rule: (rule.endpoint == "staff.logout", rule.rule),  # sign-out last: it ends the session
    )


def undeclared(app) -> list[str]:
    return [
        rule.endpoint
        for rule in staff_endpoints(app)
        if getattr(app.view_functions[rule.endpoint], "staff_min_role", None) not in (*ROLES, PUBLIC)
    ]


def test_every_staff_route_declares_its_least_role(app):
    assert staff_endpoints(app), "no staff routes found"
    assert undeclared(app) == []


def test_a_staff_route_without_a_declared_role_is_caught(app_with):
    from blueprints.staff import bp

    app = app_with()
    app.add_url_rule("/staff/forgotten", "staff.forgotten", lambda: "open to all")
    assert undeclared(app) == ["staff.forgotten"]
    assert bp.name == "staff"


def refused(response) -> bool:
    if response.status_code == 403:
        return True
    return response.status_code in (302, 303) and response.headers["Location"].startswith("/staff/login")


def counter_number(app, location_id: int) -> str:
    """An order paid at location A's counter (its receipt pages are partner A's, not partner B's)."""
    from extensions import db
    from rules.staff import counter_payments

    actor = SimpleNamespace(id=None, username="desk", role="agent", location_id=None)
    with app.test_request_context():
        result = counter_payments.record("6123 4567", "hk-1d", "cash", "desk-a", "", "matrix-0001", actor)
        db.session.commit()
        return result.order.number


def expected(app, rule, visitor: str) -> str:
    """ "open", "allowed", "refused" or "not found" (a partner asking for another location's record)."""
    view = app.view_functions[rule.endpoint]
    least = view.staff_min_role
    if least == PUBLIC:
        return "open"
    if visitor.startswith("partner_"):
        if not getattr(view, "staff_partner", False):
            return "refused"
        return "not found" if visitor == "partner_b" and "<number>" in rule.rule else "allowed"
    return "allowed" if visitor in ROLES and role_at_least(visitor, least) else "refused"


@pytest.mark.parametrize("visitor", VISITORS)
def test_role_matrix(app, client, sign_in, visitor):
    number = paid_order_number(app)
    desk_a, desk_b = make_location(app, "desk-a", "Desk A"), make_location(app, "desk-b", "Desk B")
    at_counter = counter_number(app, desk_a)
    if visitor.startswith("partner_"):
        make_partner(app, "someone", desk_a if visitor == "partner_a" else desk_b)
        assert staff_sign_in(client, "someone").status_code == 303
        token = csrf_token(client.get("/staff/counter").text)
    elif visitor in ROLES:
        secret = make_staff(app, "someone", visitor)
        assert staff_sign_in(client, "someone", secret).status_code == 303
        token = csrf_token(client.get("/staff").text)
    elif visitor == "traveller":
        sign_in()
        token = csrf_token(client.get("/cards").text)
    else:
        token = csrf_token(client.get("/staff/login").text)
    wrong = []
    for rule in staff_endpoints(app):
        want = expected(app, rule, visitor)
        own = at_counter if rule.endpoint.startswith("staff.counter_receipt") else number
        url = rule.rule.replace("<number>", own).replace("<code>", "desk-a")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, data={"csrf_token": token, **FORM})
            assert response.status_code < 500, (rule.endpoint, method, response.status_code)
            if want == "open":  # open to anyone: never forbidden (it may send to its own first step)
                right = response.status_code != 403
            elif want == "not found":
                right = response.status_code == 404
            else:
                right = refused(response) == (want == "refused")
            if not right:
                wrong.append(f"{method} {rule.endpoint} ({want}) as {visitor}: {response.status_code}")
    assert wrong == []
