"""The role matrix, generated from the URL map: every staff endpoint × agent, supervisor, admin,
traveller and anonymous visitor, allowed or refused as the view's declared least role says.

Each staff view declares its least role with @staff_required(role) or @staff_public; a staff route
that declares nothing fails here, so a new route cannot slip in open."""

import uuid

import pytest
from conftest import csrf_token
from staff_support import make_staff, paid_order_number, staff_sign_in

from rules.staff.staff_accounts import ROLES, role_at_least
from web.staff_auth import PUBLIC

VISITORS = ("agent", "supervisor", "admin", "traveller", "anonymous")
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


@pytest.mark.parametrize("visitor", VISITORS)
def test_role_matrix(app, client, sign_in, visitor):
    number = paid_order_number(app)
    if visitor in ROLES:
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
        least = app.view_functions[rule.endpoint].staff_min_role
        url = rule.rule.replace("<number>", number)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, data={"csrf_token": token, **FORM})
            assert response.status_code < 500, (rule.endpoint, method, response.status_code)
            if least == PUBLIC:  # open to anyone: never forbidden (it may send to its own first step)
                right = response.status_code != 403
            else:
                right = refused(response) == (visitor not in ROLES or not role_at_least(visitor, least))
            if not right:
                wrong.append(f"{method} {rule.endpoint} (least {least}) as {visitor}: {response.status_code}")
    assert wrong == []
