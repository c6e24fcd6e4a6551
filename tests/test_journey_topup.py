"""Top up without signing in, in a real Chromium at 390×844 with JavaScript on and off: the link on the
home page → number twice + last 4 ICCID digits → plan → review → sandbox Alipay cashier → return page
→ receipt, and the receipt link texted to the card's number opens it in another browser."""

import re

import pytest
from conftest import screenshot
from playwright.sync_api import expect

from extensions import db
from models import Account, Card

pytestmark = pytest.mark.browser


@pytest.fixture
def card(app, plans):
    with app.app_context():
        owner = Account(phone="+85291234567")
        db.session.add(owner)
        db.session.flush()
        db.session.add(
            Card(msisdn="+85261234567", iccid="8985200123456789012", nickname="Grandma", account_id=owner.id)
        )
        db.session.commit()


def top_up(page, base, name, refresh):
    page.goto(base)
    page.get_by_role("link", name="Top up someone else's card / can't get the code?").click()
    expect(page.get_by_role("heading", name="Top up without signing in")).to_be_visible()
    page.get_by_label("Card's mobile number").fill("6123 4567")
    page.get_by_label("The same number again").fill("6123 4568")
    page.get_by_label("Last 4 digits of the ICCID").fill("9012")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("The two numbers are not the same.")).to_be_visible()
    screenshot(page, f"topup-{name}-1-numbers-differ")
    page.get_by_label("The same number again").fill("6123 4567")
    page.get_by_label("Last 4 digits of the ICCID").fill("9012")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Which plan do you want?")).to_be_visible()
    screenshot(page, f"topup-{name}-2-plan")
    page.get_by_label(re.compile("Greater Bay 7-Day")).check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Check the details")).to_be_visible()
    expect(page.locator("#checkout-total")).to_have_text("HK$78.00")
    expect(page.locator("main")).not_to_contain_text("Grandma")
    screenshot(page, f"topup-{name}-3-review")
    page.get_by_role("button", name="Confirm and pay").click()
    expect(page).to_have_url(re.compile(r"/sandbox/alipay/gateway\.do\?"))
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(page).to_have_url(re.compile(r"/top-up/orders/RR\d{6}-[0-9A-Z]{6}/[0-9a-f]{32}$"))
    refresh(page, page.get_by_text(re.compile(r"^Done: Greater Bay 7-Day is on \+852 \*\*\*\*4567")))
    screenshot(page, f"topup-{name}-4-return-page")
    page.get_by_role("link", name="View receipt").click()
    expect(page.get_by_role("heading", name="Receipt")).to_be_visible()
    expect(page.locator(".receipt")).to_contain_text("HK$78.00")
    screenshot(page, f"topup-{name}-5-receipt")


def open_the_texted_link(browser, browser_context_args, base, name):
    """The card's holder opens the SMS link on their own phone (a new browser: no session)."""
    context = browser.new_context(**browser_context_args)
    outbox = context.new_page()
    outbox.goto(f"{base}/sandbox/sms")
    body = outbox.locator(".sms-body").filter(has_text="Receipt:").first.inner_text()
    link = re.search(r"http://\S+/receipt", body).group(0)
    outbox.goto(link)
    expect(outbox.get_by_role("heading", name="Receipt")).to_be_visible()
    screenshot(outbox, f"topup-{name}-6-receipt-from-sms")
    context.close()


def test_top_up_without_signing_in_with_javascript(page, browser, browser_context_args, live_server, card):
    def wait_for_polling(page, done):
        expect(done).to_be_visible(timeout=15_000)

    top_up(page, live_server, "js", wait_for_polling)
    open_the_texted_link(browser, browser_context_args, live_server, "js")


def test_top_up_without_signing_in_without_javascript(no_js_page, browser, browser_context_args, live_server, card):
    def check_again(page, done):
        for _ in range(10):
            if done.count():
                break
            page.wait_for_timeout(1000)
            page.reload()
        expect(done).to_be_visible()

    top_up(no_js_page, live_server, "nojs", check_again)
    open_the_texted_link(browser, browser_context_args, live_server, "nojs")
