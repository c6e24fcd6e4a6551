"""The counter payment without JavaScript, and the report and admin pages, in a real Chromium at 390 px:
nothing scrolls sideways and each page shows what it is for."""

from datetime import date

import pytest
from conftest import make_order, screenshot
from playwright.sync_api import expect
from shops_support import make_location
from staff_support import PASSWORD, code_now, make_staff, paid_order_number

from extensions import db

pytestmark = pytest.mark.browser


def fits(page) -> None:
    # Against the viewport as set: a mobile browser zooms out to fit a wider page, and innerWidth grows with it.
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= page.viewport_size["width"], f"sideways scrolling: {wide} px"
    wider = page.evaluate(
        "[...document.querySelectorAll('form input, form select, form textarea')].filter(e =>"
        " e.getBoundingClientRect().right > e.closest('form').getBoundingClientRect().right + 0.5)"
        ".map(e => e.name || e.id)"
    )
    assert not wider, f"fields wider than their form: {wider}"


def sign_in(page, base, username, secret):
    page.goto(base + "/staff/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("6-digit code from your authenticator app").fill(code_now(secret))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()
    fits(page)  # the search form, with its filters


def test_an_agent_records_a_counter_payment_without_javascript(no_js_page, live_server, app):
    page = no_js_page
    make_order(app)  # the demo catalogue and the card +852 6123 4567
    make_location(app, "desk-3", "Airport desk 3")
    secret = make_staff(app, "kit", "agent", totp=True)
    sign_in(page, live_server, "kit", secret)
    page.goto(live_server + "/staff/counter")
    page.get_by_label("Card number").fill("6123 4567")
    page.get_by_label("Plan").select_option("gba-3d")
    page.get_by_label("Paid with").select_option("cash")
    page.get_by_label("Counter location").select_option("desk-3")
    fits(page)
    screenshot(page, "staff-counter-390-1-form")
    page.get_by_role("button", name="Check the payment").click()
    expect(page.get_by_text("Record HK$")).to_be_visible()
    screenshot(page, "staff-counter-390-2-confirm")
    page.get_by_role("button", name="Yes, record the payment").click()
    expect(page.get_by_text("Payment recorded.")).to_be_visible()
    expect(page.get_by_role("heading", name="Receipt")).to_be_visible()
    page.get_by_role("link", name="Open the order").click()
    expect(page.locator(".audit-line")).to_contain_text("order.counter_payment")
    fits(page)
    screenshot(page, "staff-counter-390-3-order")


def test_the_report_and_admin_pages_fit_a_phone(page, live_server, app):
    from models import Reconciliation, ReconciliationDifference

    number = paid_order_number(app)
    with app.app_context():
        row = Reconciliation(day=date(2026, 11, 20), status="differences", matched_count=4, ours_count=5)
        row.differences.append(
            ReconciliationDifference(kind="amount_differs", order_number=number, our_cents=5800, their_cents=5000)
        )
        db.session.add(row)
        db.session.commit()
    secret = make_staff(app, "root", "admin")
    sign_in(page, live_server, "root", secret)
    for path, heading, name in [
        ("/staff/reconciliation", "Reconciliation", "reconciliation"),
        ("/staff/sales", "Sales", "sales"),
        ("/staff/export", "Export", "export"),
        ("/staff/admin/plans", "Plans", "admin-plans"),
        ("/staff/admin/plans/gba-3d", "gba-3d", "admin-plan-edit"),
        ("/staff/admin/plans/new", "Add", "admin-plan-new"),
        ("/staff/admin/promotions", "Promotions", "admin-promotions"),
        ("/staff/admin/staff", "Staff accounts", "admin-staff"),
    ]:
        page.goto(live_server + path)
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        fits(page)
        screenshot(page, f"staff-{name}-390")
    page.goto(live_server + "/staff/reconciliation")
    page.get_by_role("link", name=number).click()
    expect(page.locator("h1")).to_contain_text(number)


def test_an_agent_sent_to_a_supervisors_page_is_told_permission_is_missing(page, live_server, app):
    secret = make_staff(app, "kit", "agent", totp=True)
    sign_in(page, live_server, "kit", secret)
    response = page.goto(live_server + "/staff/audit")
    assert response.status == 403
    expect(page.get_by_role("heading", name="You do not have permission to do this")).to_be_visible()
    expect(page.get_by_role("link", name="Orders", exact=True).last).to_be_visible()
    fits(page)
    screenshot(page, "staff-403-390")
