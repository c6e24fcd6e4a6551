"""The second half of the journey in a real Chromium at 390×844: plan → promo code → review →
sandbox Alipay cashier → return page → receipt, with JavaScript on (htmx) and off."""

import re

import pytest
from browser_steps import bind_card, sign_in
from conftest import screenshot
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def buy_with_promo(page, base, name, apply_promo):
    sign_in(page, base)
    bind_card(page)
    page.goto(f"{base}/plans/gba-7d")
    page.get_by_role("link", name="Top up with this plan").click()
    expect(page.get_by_role("heading", name="Check the details")).to_be_visible()
    expect(page.locator("#checkout-total")).to_have_text("HK$78.00")
    page.get_by_text("Have a promo code?").click()
    page.get_by_label("Promo code").fill("welcome10")
    apply_promo(page)
    expect(page.locator("#checkout-total")).to_have_text("HK$70.20")  # 10 % off the sale price
    screenshot(page, f"{name}-5-review-with-promo")
    page.get_by_role("button", name="Confirm and pay").click()
    expect(page).to_have_url(re.compile(r"/sandbox/alipay/gateway\.do\?"))
    expect(page.get_by_text("HK$70.20").first).to_be_visible()
    screenshot(page, f"{name}-6-sandbox-cashier")
    # Back on the review (as after leaving the cashier): it shows the unpaid order Confirm goes on with.
    page.goto(f"{base}/plans/gba-7d")
    page.get_by_role("link", name="Top up with this plan").click()
    expect(page.get_by_text("You already have an unpaid order")).to_be_visible()
    expect(page.locator("#checkout-total")).to_have_text("HK$70.20")
    screenshot(page, f"{name}-6b-review-unpaid-order")
    page.get_by_role("button", name="Confirm and pay").click()
    expect(page.get_by_text("HK$70.20").first).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(page).to_have_url(re.compile(r"/orders/RR\d{6}-[0-9A-Z]{6}$"))


def see_it_done_and_open_the_receipt(page, name, refresh):
    done = page.get_by_text(re.compile(r"^Done: Greater Bay 7-Day is on .*\+852 6123 4567"))  # nickname, whole number
    refresh(page, done)
    screenshot(page, f"{name}-7-order-done")
    number = page.url.rsplit("/", 1)[1]
    page.get_by_role("link", name="View receipt").click()
    expect(page.get_by_role("heading", name="Receipt")).to_be_visible()
    receipt = page.locator(".receipt")
    for shown in (number, "HK$70.20", "HK$78.00", "WELCOME10", "Alipay", "+852 6123 4567"):
        expect(receipt).to_contain_text(shown)
    expect(receipt.locator("svg")).to_be_visible()  # the QR code
    print_button = page.locator("button[data-print]")
    expect(print_button).to_be_visible() if name == "js" else expect(print_button).to_be_hidden()
    screenshot(page, f"{name}-8-receipt")


def test_buy_and_pay_with_javascript(page, live_server, plans):
    def apply_with_htmx(page):
        page.evaluate("window.stillTheSamePage = true")
        page.get_by_role("button", name="Apply code").click()
        expect(page.get_by_text("Code WELCOME10 applied.")).to_be_visible()
        assert page.evaluate("window.stillTheSamePage") is True  # swapped in place, no reload

    def wait_for_polling(page, done):
        expect(done).to_be_visible(timeout=15_000)  # the page polls every 2 s until a final state

    buy_with_promo(page, live_server, "js", apply_with_htmx)
    see_it_done_and_open_the_receipt(page, "js", wait_for_polling)


def test_buy_and_pay_without_javascript(no_js_page, live_server, plans):
    def apply_with_the_form(page):
        page.get_by_role("button", name="Apply code").click()
        expect(page.get_by_text("Code WELCOME10 applied.")).to_be_visible()

    def check_again(page, done):
        for _ in range(10):
            if done.count():
                break
            page.wait_for_timeout(1000)
            page.reload()
        expect(done).to_be_visible()

    buy_with_promo(no_js_page, live_server, "nojs", apply_with_the_form)
    see_it_done_and_open_the_receipt(no_js_page, "nojs", check_again)
