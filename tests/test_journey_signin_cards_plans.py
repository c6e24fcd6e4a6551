"""The first half of the journey in a real Chromium at 390×844: sign in with the code from the
SMS outbox, bind a card, filter plans, open one — with JavaScript on (htmx) and off."""
import re

import pytest
from playwright.sync_api import expect

import iccid
from conftest import screenshot

pytestmark = pytest.mark.browser
ICCID = iccid.with_check_digit("898520012345678901")


def sign_in(page, base, phone="9123 4567"):
    page.goto(f"{base}/login")
    page.get_by_label("Mobile number").fill(phone)
    page.get_by_role("button", name="Text me a code").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    code_page = page.context.new_page()
    code_page.goto(f"{base}/sandbox/sms")
    code = re.search(r"\d{6}", code_page.locator(".sms-body").first.inner_text()).group(0)
    code_page.close()
    page.get_by_label("6-digit code").fill(code)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My cards")).to_be_visible()


def bind_card(page):
    page.get_by_label("Card's mobile number").fill("6123 4567")
    page.get_by_label("ICCID").fill(ICCID)
    page.get_by_label("Nickname").fill("Mum's card")
    page.get_by_role("button", name="Add card").click()
    expect(page.locator(".card").filter(has_text="Mum's card")).to_be_visible()


def journey(page, base, name, filter_plans):
    sign_in(page, base)
    screenshot(page, f"{name}-1-cards-empty")
    bind_card(page)
    screenshot(page, f"{name}-2-card-bound")
    page.get_by_role("link", name="Plans").first.click()
    expect(page.get_by_role("heading", name="Plans", exact=True)).to_be_visible()
    filter_plans(page)
    expect(page).to_have_url(re.compile(r"/plans\?length=trip&region=hk_cn$"))
    expect(page.locator("#plan-list .plan")).to_have_count(3)
    screenshot(page, f"{name}-3-plans-filtered")
    page.get_by_role("link", name="Greater Bay 7-Day").click()
    expect(page).to_have_url(re.compile(r"/plans/gba-7d$"))
    expect(page.locator("h1")).to_have_text("Greater Bay 7-Day")
    expect(page.locator(".price")).to_contain_text("HK$78.00")
    screenshot(page, f"{name}-4-plan-detail")


def test_journey_with_javascript(page, live_server, plans):
    def filter_with_htmx(page):
        page.evaluate("window.stillTheSamePage = true")  # lost on a full page load
        page.get_by_label("Trips (1-7 days)").check()
        page.get_by_label("Hong Kong + mainland China").check()
        expect(page.locator("#plan-list .plan")).to_have_count(3)
        assert page.evaluate("window.stillTheSamePage") is True
    journey(page, live_server, "js", filter_with_htmx)
    page.go_back()  # history works after htmx swaps
    expect(page).to_have_url(re.compile(r"/plans\?length=trip&region=hk_cn$"))
    expect(page.locator("#plan-list .plan")).to_have_count(3)


def test_journey_without_javascript(no_js_page, live_server, plans):
    def filter_with_the_form(page):
        page.get_by_label("Trips (1-7 days)").check()
        page.get_by_label("Hong Kong + mainland China").check()
        page.get_by_role("button", name="Show plans").click()
    journey(no_js_page, live_server, "nojs", filter_with_the_form)


def test_pages_fit_a_360_pixel_phone_without_sideways_scrolling(page, live_server, plans):
    page.set_viewport_size({"width": 360, "height": 740})
    for path in ["/", "/plans", "/plans/trio-3d-unl", "/login"]:
        page.goto(live_server + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
        small = page.evaluate("""[...document.querySelectorAll('a.button, button, input[type=radio]+*, .chips label')]
            .filter(e => e.offsetParent).map(e => e.getBoundingClientRect().height).filter(h => h < 44)""")
        assert small == [], (path, small)
    screenshot(page, "360-plan-detail")
