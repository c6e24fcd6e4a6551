"""Choosing how to pay, in a real Chromium: the review page's "Pay with" at 360 and 390 px in three
languages with JavaScript on and off, inside WeChat's own browser, and a top-up paid by card (a fake
"stripe" provider whose cashier sends the browser straight back) through to its receipt."""

import re

import pytest
from conftest import load_order, screenshot
from playwright.sync_api import expect
from test_payment_choice import THREE, WECHAT_BROWSER
from test_payment_methods import MemoryPay

from extensions import db
from gateways import providers
from models import Account, Card

pytestmark = pytest.mark.browser
WIDTHS = {"390": {"width": 390, "height": 844}, "360": {"width": 360, "height": 740}}
PAY_WITH = {"en": "Pay with", "zh_Hans": "付款方式", "zh_Hant": "付款方式"}


class BackAtOnce(MemoryPay):
    """A cashier that sends the browser straight back to the site's return page, as after paying."""

    def start_payment(self, order, *, return_url: str, notify_url: str, quit_url: str) -> str:
        super().start_payment(order, return_url=return_url, notify_url=notify_url, quit_url=quit_url)
        return f"{return_url}?order={order.number}"


@pytest.fixture
def app(app_with):
    return app_with(PAYMENT_METHODS=THREE)


@pytest.fixture
def fakes(monkeypatch):
    made = {}
    for name in ("wechat", "stripe"):
        made[name] = BackAtOnce()
        made[name].name = name
        monkeypatch.setitem(providers.PROVIDERS, name, made[name])
    return made


@pytest.fixture
def card(app, plans):
    with app.app_context():
        owner = Account(phone="+85291234567")
        db.session.add(owner)
        db.session.flush()
        db.session.add(Card(msisdn="+85261234567", iccid="8985200123456789012", account_id=owner.id))
        db.session.commit()


def to_review(page, base, lang="en"):
    """The guest top-up up to its review page, in `lang`."""
    page.context.add_cookies([{"name": "lang", "value": lang, "url": base}])
    page.goto(f"{base}/top-up")
    page.locator("input[name=number]").fill("6123 4567")
    page.locator("input[name=number_again]").fill("6123 4567")
    page.locator("input[name=iccid_last4]").fill("9012")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(re.compile(r"/top-up/review"))
    page.goto(f"{base}/top-up/review?plan=gba-7d")
    expect(page.locator("#pay-with legend")).to_have_text(PAY_WITH[lang])


def no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("lang", ["en", "zh_Hans", "zh_Hant"])
def test_pay_with_at_360_and_390_px_with_javascript_on_and_off(page, no_js_page, live_server, card, fakes, lang):
    for js, tab in (("js", page), ("nojs", no_js_page)):
        to_review(tab, live_server, lang)
        expect(tab.locator("input[name=payment_method]")).to_have_count(3)
        expect(tab.locator("input[name=payment_method][value=alipay]")).to_be_checked()
        for width, size in WIDTHS.items():
            tab.set_viewport_size(size)
            no_sideways_scroll(tab)
            for label in tab.locator("#pay-with label").all():
                assert label.bounding_box()["height"] >= 44  # the whole row is the tap target
            screenshot(tab, f"choose-review-{lang}-{width}-{js}")


def test_inside_wechat_the_review_says_what_to_do_instead(browser, browser_context_args, live_server, card, fakes):
    context = browser.new_context(**{**browser_context_args, "viewport": WIDTHS["360"]}, user_agent=WECHAT_BROWSER)
    page = context.new_page()
    for lang in ("en", "zh_Hans", "zh_Hant"):
        to_review(page, live_server, lang)
        expect(page.locator("input[name=payment_method][value=wechat]")).to_be_disabled()
        expect(page.locator("#pay-with-wechat")).to_be_visible()
        no_sideways_scroll(page)
        screenshot(page, f"choose-review-in-wechat-{lang}-360")
    context.close()


def test_a_guest_chooses_card_pays_and_the_receipt_says_so(page, live_server, app, card, fakes):
    to_review(page, live_server)
    page.get_by_label("WeChat Pay").check()
    page.get_by_text("Have a promo code?").click()
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_label("Promo code").fill("welcome10")  # a per-account code: refused without an account
    page.get_by_role("button", name="Apply code").click()  # an htmx swap of the summary
    expect(page.locator("#promo_code-error")).to_be_visible()
    assert page.evaluate("window.stillTheSamePage === true")
    expect(page.get_by_label("WeChat Pay")).to_be_checked()  # the choice survives the swap
    page.locator("input[type=radio][name=start][value=now]").check()  # an htmx reload of the page's content
    expect(page.locator("input[type=radio][name=start][value=now]")).to_be_checked()
    expect(page).to_have_url(re.compile(r"payment_method=wechat"))
    expect(page.get_by_label("WeChat Pay")).to_be_checked()  # and so does a change of start
    page.get_by_label("Credit or debit card").check()
    screenshot(page, "choose-journey-1-card-chosen")
    page.get_by_role("button", name="Confirm and pay").click()
    page.wait_for_url(re.compile(r"/top-up/orders/RR\d{6}-[0-9A-Z]{6}/[0-9a-f]{32}$"))
    number = re.search(r"RR\d{6}-[0-9A-Z]{6}", page.url).group(0)
    expect(page.get_by_role("link", name="Pay with Credit or debit card")).to_be_visible()
    screenshot(page, "choose-journey-2-waiting")
    assert fakes["stripe"].calls[0] == ("start_payment", number) and fakes["wechat"].calls == []
    order = load_order(app, number)
    posted = page.request.post(
        f"{live_server}/payments/stripe/notify",
        form={"order": number, "trade": "CARD-1", "cents": str(order.total_cents), "signed": "yes"},
    )
    assert posted.status == 200
    expect(page.get_by_text(re.compile(r"^Done: Greater Bay 7-Day"))).to_be_visible(timeout=15000)
    page.get_by_role("link", name="View receipt").click()
    expect(page.locator(".receipt")).to_contain_text("Credit or debit card")
    screenshot(page, "choose-journey-3-receipt")
