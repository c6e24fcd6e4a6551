"""The account page in a real Chromium at 390×844, with JavaScript on and off, in all three languages:
what is left comes first, the forecast beside the bar, Refresh swaps only the usage part."""

from datetime import timedelta

import pytest
from browser_steps import bind_card, sign_in
from conftest import screenshot
from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from models import Card, CardPack, CarrierReading, UsageReading, utcnow
from rules.travellers import usage

pytestmark = pytest.mark.browser

HEADINGS = {"en": "My account", "zh_Hans": "我的账户", "zh_Hant": "我的帳戶"}
LEFT = {"en": "left of 10 GB", "zh_Hans": "剩余，共 10 GB", "zh_Hant": "尚餘，共 10 GB"}
RUNS_OUT = {"en": "data runs out around", "zh_Hans": "左右用完", "zh_Hant": "左右用完"}


def card_running_low(app):
    """A 10 GB pack 2 days in, 7 GB used at 2.5 GB a day: it runs out days before it ends."""
    with app.app_context():
        card = db.session.scalars(select(Card)).one()
        now = utcnow()
        db.session.add(
            CardPack(
                card_id=card.id,
                data_mb=10240,
                used_mb=7168,
                starts_at=now - timedelta(days=2),
                ends_at=now + timedelta(days=5),
            )
        )
        today = usage.hk_day(now)
        db.session.add(UsageReading(card_id=card.id, day=today - timedelta(days=2), used_mb=2048))
        db.session.commit()


def use_more(app, used_mb):
    with app.app_context():
        db.session.execute(db.update(CardPack).values(used_mb=used_mb))
        db.session.execute(db.delete(CarrierReading))  # as if the kept answer were a minute old
        db.session.commit()


def check_account_page(page, base, name, path="/account"):
    """The account page in each language; `path` "/account?refresh=1" is the Refresh link without JavaScript
    (with it, the page's usage part asks the carrier by itself)."""
    for code, heading in HEADINGS.items():
        page.context.add_cookies([{"name": "lang", "value": code, "url": base}])
        page.goto(f"{base}{path}")
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        card = page.locator(".usage-card")
        expect(card.locator(".usage-left")).to_contain_text("3 GB")
        expect(card.locator(".usage-left")).to_contain_text(LEFT[code])
        expect(card.locator(".usage-forecast")).to_contain_text(RUNS_OUT[code])
        left_top = card.locator(".usage-left strong").bounding_box()["y"]
        assert left_top < card.locator(".usage-bar").bounding_box()["y"]
        assert left_top < card.locator(".usage-forecast").bounding_box()["y"]
        assert left_top < 844 / 2, left_top  # what is left shows without scrolling
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, f"{name}-account-{code}")
    page.context.add_cookies([{"name": "lang", "value": "en", "url": base}])


def test_account_page_with_javascript(page, live_server, app, plans):
    sign_in(page, live_server)
    bind_card(page)
    card_running_low(app)
    check_account_page(page, live_server, "js")
    page.goto(f"{live_server}/account")
    page.evaluate("window.stillTheSamePage = true")
    use_more(app, 8192)
    page.get_by_role("link", name="Refresh").click()
    expect(page.locator(".usage-left")).to_contain_text("2 GB")
    assert page.evaluate("window.stillTheSamePage") is True  # only the usage part was swapped
    screenshot(page, "js-account-refreshed")
    page.get_by_role("link", name="Renew Mum's card").click()
    expect(page.get_by_role("heading", name="Which plan do you want?")).to_be_visible()


def test_account_page_without_javascript(no_js_page, live_server, app, plans):
    page = no_js_page
    sign_in(page, live_server)
    bind_card(page)
    card_running_low(app)
    check_account_page(page, live_server, "nojs", "/account?refresh=1")
    use_more(app, 8192)
    page.goto(f"{live_server}/account")  # nothing recent kept: the page says so and does not wait
    expect(page.locator(".usage-none")).to_have_text("Not read from the carrier yet.")
    screenshot(page, "nojs-account-asking")
    page.get_by_role("link", name="Refresh").click()
    expect(page.locator(".usage-left")).to_contain_text("2 GB")
    page.get_by_role("link", name="Orders and receipts").click()
    expect(page).to_have_url(f"{live_server}/orders")


def test_carrier_down_in_the_browser_says_usage_is_not_available(page, live_server, app, plans):
    sign_in(page, live_server)
    bind_card(page)
    card_running_low(app)
    app.config["CARRIER_DOWN"] = True
    page.goto(f"{live_server}/account")
    expect(page.locator(".usage-none")).to_have_text("Usage not available right now. Try again in a few minutes.")
    screenshot(page, "js-account-carrier-down")


def test_at_360_pixels_what_is_left_is_the_first_number_and_nothing_scrolls_sideways(page, live_server, app, plans):
    sign_in(page, live_server)
    bind_card(page)
    card_running_low(app)
    page.set_viewport_size({"width": 360, "height": 740})
    for code in HEADINGS:
        page.context.add_cookies([{"name": "lang", "value": code, "url": live_server}])
        page.goto(f"{live_server}/account")
        card = page.locator(".usage-card")
        expect(card.locator(".usage-left")).to_be_visible()  # the usage part, loaded by itself
        first_number = card.evaluate(
            "c => c.innerText.replace(c.querySelector('h2').innerText, '').match(/[0-9.,]+/)[0]"
        )
        assert first_number == "3", (code, first_number)  # "3 GB" left comes before any other figure
        assert card.locator(".usage-left strong").bounding_box()["y"] < 740 / 2
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        screenshot(page, f"360-account-{code}")
