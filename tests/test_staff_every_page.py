"""Every staff page, as a full page and as the htmx fragment a boosted link or a form asks for, for each
staff role: shown (200) when the role may see it, refused (403) when not, and never a server error.

The pages come from the URL map (every GET route under /staff), so a page added later is walked too;
routes that need data get it: an order in each kind of state, a plan and a promotion to edit."""

from types import SimpleNamespace

import pytest
from conftest import make_order
from shops_support import make_location
from staff_support import make_staff, paid_order_number, staff_sign_in

from extensions import db
from rules.staff import counter_payments
from rules.staff.staff_accounts import ROLES, role_at_least
from rules.travellers import iccid
from web.staff_auth import PUBLIC

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://localhost/staff"}
# Filled in for the routes' placeholders; the sign-in pages send staff who are signed in onwards.
ADMIN_KINDS = {"plans": "gba-3d", "promotions": "WELCOME10"}
COUNTER = "airport-t1"
# What the pages do with their query strings (a search, a chosen day, an export range).
WITH_QUERIES = {
    "staff.home": ["", "?q=9123+4567", "?state=paid&from=2026-01-01&to=2026-12-31"],
    "staff.reconciliation_page": ["", "?day=2026-11-28"],
    "staff.export_page": ["", "?from=2026-11-01&to=2026-11-30"],
    "staff.export_orders": ["?from=2026-11-01&to=2026-11-30"],
    "staff.export_refunds": ["?from=2026-11-01&to=2026-11-30"],
    "staff.audit_log": ["", "?page=2"],
}


def demo_orders(app) -> list[str]:
    """One order waiting for payment, one paid, one with its data on the card, one refunded."""
    return [
        make_order(app, phone="+85291230001", msisdn="+85261230001"),
        paid_order_number(app),
        paid_order_number(app, "fulfilled", phone="+85291230002", msisdn="+85261230002"),
        paid_order_number(app, "refunded", phone="+85291230003", msisdn="+85261230003"),
        counter_order(app),
    ]


def counter_order(app) -> str:
    """A payment taken at the counter of location "airport-t1" (its receipt page needs one)."""
    make_location(app, COUNTER)
    agent = SimpleNamespace(id=None, username="kit", role="agent")
    with app.test_request_context():
        sim = iccid.with_check_digit("898520012345678904")  # the sandbox's demo SIM of +852 5123 4567
        result = counter_payments.record(
            "5123 4567", "gba-3d", "cash", COUNTER, "till 4", counter_payments.new_request_id(), agent, iccid_text=sim
        )
        db.session.commit()
        return result.order.number


def page_urls(app, orders: list[str]) -> list[tuple[str, str]]:
    """(endpoint, URL) for every staff GET route, with its placeholders filled in."""
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("staff.") or "GET" not in rule.methods:
            continue
        if rule.endpoint == "staff.counter_receipt":  # only a payment taken at a counter has one
            urls.append((rule.endpoint, rule.rule.replace("<number>", orders[-1])))
        elif "<number>" in rule.rule:
            urls += [(rule.endpoint, rule.rule.replace("<number>", number)) for number in orders]
        elif "<code>" in rule.rule and "<kind>" not in rule.rule:
            urls.append((rule.endpoint, rule.rule.replace("<code>", COUNTER)))
        elif "<kind>" in rule.rule:
            for kind, code in ADMIN_KINDS.items():
                urls.append((rule.endpoint, rule.rule.replace("<kind>", kind).replace("<code>", code)))
        else:
            urls += [(rule.endpoint, rule.rule + query) for query in WITH_QUERIES.get(rule.endpoint, [""])]
    return sorted(urls)


def expected(app, endpoint: str, role: str) -> set[int]:
    least = app.view_functions[endpoint].staff_min_role
    if least == PUBLIC:  # the sign-in steps: someone signed in is sent on
        return {200, 302, 303}
    return {200} if role_at_least(role, least) else {403}


@pytest.mark.parametrize("role", ROLES)
def test_every_staff_page_renders_whole_and_as_a_fragment_for_each_role(app, client, role):
    orders = demo_orders(app)
    secret = make_staff(app, "someone", role)
    assert staff_sign_in(client, "someone", secret).status_code == 303
    wrong = []
    for endpoint, url in page_urls(app, orders):
        for headers in ({}, HTMX):
            response = client.get(url, headers=headers)
            body = response.get_data(as_text=True)  # read to the end: a CSV is streamed
            response.close()
            if response.status_code not in expected(app, endpoint, role):
                kind = "fragment" if headers else "page"
                wrong.append(f"{kind} {url} as {role}: {response.status_code}")
            elif response.status_code == 200 and headers and not url.endswith(".csv"):
                # A fragment fills <main>: never a second document inside the page.
                assert "<html" not in body, url
    assert wrong == []
    assert len(page_urls(app, orders)) > 15  # the walk found the pages, not an empty map


def test_an_admins_htmx_change_on_the_staff_accounts_page_answers_the_page_not_an_error(app, client):
    from conftest import csrf_token

    make_staff(app, "kit", "agent")
    secret = make_staff(app, "root", "admin")
    assert staff_sign_in(client, "root", secret).status_code == 303
    token = csrf_token(client.get("/staff/admin/staff").text)
    headers = {**HTMX, "X-CSRFToken": token}
    role = client.post("/staff/admin/staff/kit/role", data={"role": "supervisor"}, headers=headers)
    assert role.status_code == 303
    after = client.get(role.headers["Location"], headers=HTMX)
    assert after.status_code == 200 and "kit is now supervisor." in after.text
    assert "Change the role" in after.text  # the row of someone else still has its actions
    disabled = client.post("/staff/admin/staff/kit/disable", data={}, headers=headers)
    after = client.get(disabled.headers["Location"], headers=HTMX)
    assert after.status_code == 200 and "kit is disabled." in after.text
