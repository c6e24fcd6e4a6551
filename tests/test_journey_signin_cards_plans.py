"""The first half of the journey in a real Chromium at 390×844: sign in with the code from the
SMS outbox, bind a card, filter plans, open one — with JavaScript on (htmx) and off."""

import re

import pytest
from browser_steps import bind_card, sign_in
from conftest import make_order, screenshot
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def journey(page, base, name, filter_plans):
    sign_in(page, base)
    screenshot(page, f"{name}-1-cards-empty")
    bind_card(page)
    screenshot(page, f"{name}-2-card-bound")
    page.locator("summary", has_text="Menu").click()  # the header's menu, a <details> that works without JS
    page.get_by_role("link", name="Plans", exact=True).click()
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


LINKS = ".drop a, .change a, .order-card h2 a"


def test_pages_fit_a_360_pixel_phone_without_sideways_scrolling(page, live_server, app, plans):
    page.set_viewport_size({"width": 360, "height": 740})
    for path in [
        "/",
        "/plans",
        "/plans/trio-3d-unl",
        "/login",
        "signed in",
        "/cards",
        "/orders",
        "/checkout?plan=gba-7d",
        "an order",
        "/orders",
    ]:
        if path == "signed in":
            sign_in(page, live_server)
            bind_card(page)
            continue
        if path == "an order":
            make_order(app, "gba-7d")
            continue
        page.goto(live_server + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
        targets = "a.button, button, label:has(input[type=radio]), .chips label, summary, " + LINKS
        small = page.evaluate(f"""[...document.querySelectorAll('{targets}')]
            .filter(e => e.offsetParent).map(e => e.getBoundingClientRect().height).filter(h => h < 44)""")
        assert small == [], (path, small)
    screenshot(page, "360-checkout-review")
