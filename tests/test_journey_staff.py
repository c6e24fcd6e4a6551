"""Staff in a real Chromium at 390 and 768 px wide: sign in with a TOTP code, search by phone as they
type, open the order, add a note, and see their action in the order's audit list; also without JavaScript."""

import re

import pytest
from conftest import screenshot
from playwright.sync_api import expect
from staff_support import PASSWORD, code_now, make_staff, paid_order_number

pytestmark = pytest.mark.browser


def fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "sideways scrolling"


def journey(page, base, app, name, search):
    secret = make_staff(app, "alice", "agent", totp=True)
    number = paid_order_number(app, msisdn="+85261234567")
    page.goto(base + "/staff")
    expect(page.get_by_role("heading", name="Staff sign-in")).to_be_visible()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    screenshot(page, f"{name}-1-sign-in")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("6-digit code from your authenticator app").fill(code_now(secret))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Paid, data not added yet"))).to_be_visible()
    fits(page)
    screenshot(page, f"{name}-2-home-queues")
    search(page, "6123 4567")
    expect(page).to_have_url(re.compile(r"/staff\?q=6123(\+|%20)4567"))
    expect(page.locator("#results")).to_contain_text("+852 ****4567")
    fits(page)
    screenshot(page, f"{name}-3-search-by-phone")
    page.locator("#results").get_by_role("link", name=number).click()
    expect(page.locator("h1")).to_contain_text(number)
    fits(page)
    screenshot(page, f"{name}-4-order")
    page.get_by_label("Note", exact=True).fill("Traveller called: SMS not received, resent.")
    page.get_by_role("button", name="Add the note").click()
    expect(page.get_by_text("Note added.")).to_be_visible()
    expect(page.locator(".note-body")).to_have_text("Traveller called: SMS not received, resent.")
    expect(page.locator(".audit-line")).to_contain_text("alice")
    expect(page.locator(".audit-line")).to_contain_text("add_note")
    fits(page)
    screenshot(page, f"{name}-5-note-and-audit")


@pytest.mark.parametrize("width", [390, 768])
def test_staff_journey_with_javascript(page, live_server, app, width):
    page.set_viewport_size({"width": width, "height": 900})

    def search_as_you_type(page, text):
        page.evaluate("window.stillTheSamePage = true")
        page.get_by_label("Order number, phone number, ICCID or trade number").press_sequentially(text, delay=20)
        expect(page.locator("#results .staff-row")).to_have_count(1)
        assert page.evaluate("window.stillTheSamePage") is True  # swapped by htmx, not reloaded

    journey(page, live_server, app, f"staff-js-{width}", search_as_you_type)
    page.go_back()  # the order page, as it was before the note was added
    page.go_back()
    expect(page).to_have_url(re.compile(r"/staff\?q=6123(\+|%20)4567"))
    expect(page.locator("#results .staff-row")).to_have_count(1)


def test_staff_journey_without_javascript(no_js_page, live_server, app):
    def search_with_the_button(page, text):
        page.get_by_label("Order number, phone number, ICCID or trade number").fill(text)
        page.get_by_role("button", name="Search").click()

    journey(no_js_page, live_server, app, "staff-nojs-390", search_with_the_button)


def test_a_supervisor_enrols_with_the_qr_code_and_marks_an_order_added_by_hand(page, live_server, app):
    import pyotp

    from extensions import db
    from models import StaffUser

    make_staff(app, "sam", "supervisor", totp=False)
    number = paid_order_number(app, state="to_add_by_hand")
    page.goto(live_server + "/staff/login")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Set up two-step sign-in")).to_be_visible()
    expect(page.locator(".qr svg")).to_be_visible()
    fits(page)
    screenshot(page, "staff-enrol-390")
    with app.app_context():
        secret = db.session.scalars(db.select(StaffUser.totp_secret).where(StaffUser.username == "sam")).one()
    page.get_by_label("6-digit code from your authenticator app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    page.locator("#results").get_by_role("link", name=number).click()
    page.get_by_label("Carrier's reference").fill("CMHK-778899")
    page.get_by_role("button", name="Mark as added").click()
    expect(page.get_by_text("Marked as added. The order is complete.")).to_be_visible()
    expect(page.locator("h1 .tag")).to_have_text("Data added")
    fits(page)
    screenshot(page, "staff-marked-added-390")
