"""What a traveller sees at 360-390 px in all three languages: a one-line header with the page's title in
the first third of the screen, one language control that works without JavaScript and comes back to the
same page (also after a promo code), and Back after paying showing a cashier that says "already paid"."""

import re

import pytest
from browser_steps import bind_card, sign_in
from conftest import make_order, screenshot
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

LANGUAGES = {"en": "English", "zh_Hans": "简体中文", "zh_Hant": "繁體中文"}


def measure(page):
    return page.evaluate("""() => {
        const box = s => document.querySelector(s).getBoundingClientRect();
        return {header: box('.site-header').height, banner: box('.sandbox-banner').height,
                title: box('main h1').top, wide: document.documentElement.scrollWidth};
    }""")


@pytest.mark.parametrize("width, height", [(360, 740), (390, 844)])
def test_the_header_is_one_line_and_every_title_is_in_the_first_third(page, live_server, plans, width, height):
    sign_in(page, live_server)
    bind_card(page)
    page.set_viewport_size({"width": width, "height": height})
    for code, label in LANGUAGES.items():
        page.context.add_cookies([{"name": "lang", "value": code, "url": live_server}])
        for path in ["/", "/plans", "/plans/gba-7d", "/cards", "/orders", "/checkout?plan=gba-7d", "/sandbox/sms"]:
            page.goto(live_server + path)
            expect(page.locator("summary", has_text=label)).to_be_visible()  # the one language control
            m = measure(page)
            assert m["header"] <= 48, (code, path, m)  # one line: brand, menu, language
            assert m["banner"] <= 28, (code, path, m)  # the sandbox notice: one thin line
            assert m["title"] < height / 3, (code, path, m)
            assert m["wide"] <= width, (code, path, m)
        screenshot(page, f"{width}-{code}-review-header")


def test_the_menus_open_without_javascript_and_the_language_comes_back_to_the_same_page(no_js_page, live_server, plans):
    page = no_js_page
    page.goto(f"{live_server}/plans?region=hk")
    page.locator("summary", has_text="English").click()
    page.get_by_role("link", name="繁體中文").click()
    expect(page).to_have_url(re.compile(r"/plans\?region=hk$"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hant")
    page.locator("summary", has_text="選單").click()
    expect(page.get_by_role("link", name="登入")).to_be_visible()
    screenshot(page, "nojs-menu-open-zh_Hant")


def test_switching_language_after_a_promo_code_without_javascript_stays_on_the_review(no_js_page, live_server, plans):
    page = no_js_page
    sign_in(page, live_server)
    bind_card(page)
    page.goto(f"{live_server}/checkout?plan=gba-7d")
    page.get_by_text("Have a promo code?").click()
    page.get_by_label("Promo code").fill("welcome10")
    page.get_by_role("button", name="Apply code").click()
    expect(page).to_have_url(re.compile(r"/checkout\?plan=gba-7d&card=\d+&promo=welcome10$"))  # a GET-able page
    page.locator("summary", has_text="English").click()
    page.get_by_role("link", name="简体中文").click()
    expect(page).to_have_url(re.compile(r"/checkout\?plan=gba-7d&card=\d+&promo=welcome10$"))
    expect(page.locator("#checkout-total")).to_have_text("HK$70.20")
    expect(page.locator("h1")).not_to_have_text("Check the details")  # now in 简体
    screenshot(page, "nojs-review-promo-zh_Hans")


def test_with_javascript_the_language_links_follow_htmx_navigation_and_the_promo_code(page, live_server, plans):
    sign_in(page, live_server)
    bind_card(page)
    page.goto(f"{live_server}/plans/gba-7d")
    page.get_by_role("link", name="Top up with this plan").click()  # an htmx swap, not a page load
    expect(page.get_by_role("heading", name="Check the details")).to_be_visible()
    page.get_by_text("Have a promo code?").click()
    page.get_by_label("Promo code").fill("WELCOME10")
    page.get_by_role("button", name="Apply code").click()
    expect(page.get_by_text("Code WELCOME10 applied.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"promo=WELCOME10$"))
    page.locator("summary", has_text="English").click()
    page.get_by_role("link", name="繁體中文").click()
    expect(page).to_have_url(re.compile(r"/checkout\?plan=gba-7d&card=\d+&promo=WELCOME10$"))
    expect(page.locator("#checkout-total")).to_have_text("HK$70.20")


def test_back_after_paying_shows_a_cashier_that_says_already_paid(page, live_server, plans):
    sign_in(page, live_server)
    bind_card(page)
    page.goto(f"{live_server}/checkout?plan=gba-7d")
    page.get_by_role("button", name="Confirm and pay").click()
    expect(page).to_have_url(re.compile(r"/sandbox/alipay/gateway\.do\?"))
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(page).to_have_url(re.compile(r"/orders/RR\d{6}-[0-9A-Z]{6}$"))
    page.go_back()
    expect(page).to_have_url(re.compile(r"/sandbox/alipay/gateway\.do\?"))
    expect(page.get_by_text("This order is already paid.")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^Pay "))).to_have_count(0)
    screenshot(page, "js-back-to-cashier-after-paying")
    page.get_by_role("link", name="Back to the merchant").click()
    expect(page).to_have_url(re.compile(r"/orders/RR\d{6}-[0-9A-Z]{6}$"))


def test_orders_are_summary_cards_with_a_state_tag_and_one_tall_action(page, live_server, app, plans):
    sign_in(page, live_server)
    bind_card(page)
    make_order(app, "hk-1d")
    page.set_viewport_size({"width": 360, "height": 740})
    for code in LANGUAGES:
        page.context.add_cookies([{"name": "lang", "value": code, "url": live_server}])
        page.goto(f"{live_server}/orders")
        card = page.locator(".order-card").first
        expect(card.locator(".tag.tag--pending_payment")).to_be_visible()
        plan, tag = card.locator("h2").bounding_box(), card.locator(".tag").bounding_box()
        assert abs((plan["y"] + plan["height"] / 2) - (tag["y"] + tag["height"] / 2)) < 12  # same line
        assert card.locator(".button").bounding_box()["height"] >= 44
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        screenshot(page, f"360-{code}-orders")
