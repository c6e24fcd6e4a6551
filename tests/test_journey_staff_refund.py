"""A supervisor in a real Chromium at 768 and 390 px: signs in with a TOTP code, searches by phone, opens
the order, asks for a refund, confirms it on the second step, and sees the refund in the audit list."""

import re

import pytest
from conftest import screenshot
from playwright.sync_api import expect
from staff_support import PASSWORD, code_now, make_staff, paid_order_number

pytestmark = pytest.mark.browser


def fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "sideways scrolling"


@pytest.mark.parametrize("width", [768, 390])
def test_a_supervisor_refunds_part_of_an_order_after_confirming(page, live_server, app, width):
    page.set_viewport_size({"width": width, "height": 900})
    secret = make_staff(app, "mei", "supervisor")
    number = paid_order_number(app, msisdn="+85261234567")
    page.goto(live_server + "/staff")
    page.get_by_label("Username").fill("mei")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("6-digit code from your authenticator app").fill(code_now(secret))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()
    page.get_by_label("Order number, phone number, ICCID or trade number").fill("6123 4567")
    page.get_by_label("Order number, phone number, ICCID or trade number").press("Enter")
    page.locator("#results").get_by_role("link", name=number).click()
    expect(page.locator("h1")).to_contain_text(number)
    page.get_by_label("Amount to refund (HK$)").fill("20")
    page.get_by_label("Reason", exact=True).last.fill("Traveller left early")
    fits(page)
    screenshot(page, f"staff-refund-{width}-1-form")
    page.get_by_role("button", name="Check the refund").click()
    expect(page.get_by_text(f"Refund HK$20.00 of order {number}?")).to_be_visible()
    fits(page)
    screenshot(page, f"staff-refund-{width}-2-confirm")
    page.get_by_role("button", name="Yes, refund HK$20.00").click()
    expect(page.get_by_text("Refunded HK$20.00.")).to_be_visible()
    expect(page.locator(".audit-line").filter(has_text="order.refund")).to_contain_text("mei")
    expect(page.locator(".audit-line").filter(has_text="order.refund")).to_contain_text("Traveller left early")
    expect(page.get_by_text(re.compile(r"Left to refund: HK\$38\.00"))).to_be_visible()
    fits(page)
    page.locator(".audit-line").filter(has_text="order.refund").scroll_into_view_if_needed()
    screenshot(page, f"staff-refund-{width}-3-audit")
