"""The traveller fixes in a real Chromium with JavaScript off, at 390 and 360 px: the bind code screen names
the card's number, cards by nickname and number, sale prices in the plan chooser, order steps, the confirm
steps before cancelling and removing, a queued pack in the forecast, and the word after signing out."""

from datetime import timedelta

import pytest
from browser_steps import read_sms_code, sign_in
from conftest import make_order, screenshot
from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from models import Card, CardPack, UsageReading, utcnow
from rules.travellers import iccid, usage

pytestmark = pytest.mark.browser


def running_low_with_a_queued_pack(app):
    with app.app_context():
        card = db.session.scalars(select(Card)).one()
        now = utcnow()
        earlier = now - timedelta(hours=1)
        for used, starts, days in ((7168, now - timedelta(days=2), 7), (0, now + timedelta(days=5), 6)):
            db.session.add(
                CardPack(
                    card_id=card.id,
                    data_mb=10240 if used else 20480,
                    used_mb=used,
                    starts_at=starts,
                    ends_at=starts + timedelta(days=days),
                    created_at=earlier,
                )
            )
        db.session.add(UsageReading(card_id=card.id, day=usage.hk_day(now) - timedelta(days=2), used_mb=2048))
        db.session.commit()


def fits(page, width):
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width, height", [(390, 844), (360, 740)])
def test_traveller_fixes_without_javascript(no_js_page, live_server, app, plans, width, height):
    page, base = no_js_page, live_server
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, base)
    page.get_by_label("Card's mobile number").fill("6123 4567")
    page.get_by_label("ICCID").fill(iccid.with_check_digit("898520012345678901"))
    page.get_by_label("Nickname").fill("Mum")
    page.get_by_role("button", name="Add card").click()
    expect(page.get_by_text("We texted a code to the card you are adding, +852 6123 4567")).to_be_visible()
    fits(page, width)
    screenshot(page, f"{width}-trav-bind-code")
    page.get_by_label("6-digit code").fill(read_sms_code(page, base))
    page.get_by_role("button", name="Add card").click()
    expect(page.locator(".card").filter(has_text="+852 6123 4567")).to_be_visible()

    with app.app_context():
        card_id = db.session.scalar(select(Card.id))
    page.goto(f"{base}/checkout?card={card_id}")
    expect(page.locator("li.plan", has_text="Greater Bay 7-Day")).to_contain_text("Sale until")
    fits(page, width)
    screenshot(page, f"{width}-trav-plan-chooser-sale")

    number = make_order(app)
    page.goto(f"{base}/orders/{number}")
    expect(page.locator(".progress li.done")).to_have_text("Order placed")
    page.get_by_role("link", name="Cancel this order").click()
    expect(page.get_by_role("heading", name="Cancel this order?")).to_be_visible()
    fits(page, width)
    screenshot(page, f"{width}-trav-cancel-confirm")
    page.get_by_role("link", name="No, keep it").click()
    expect(page.get_by_role("link", name="Cancel this order")).to_be_visible()

    page.goto(f"{base}/orders")
    expect(page.locator(".order-card")).to_contain_text("Mum +852 6123 4567")
    fits(page, width)
    screenshot(page, f"{width}-trav-my-orders")

    running_low_with_a_queued_pack(app)
    for lang in ("en", "zh_Hant"):
        page.context.add_cookies([{"name": "lang", "value": lang, "url": base}])
        page.goto(f"{base}/account?refresh=1")
        expect(page.locator(".usage-forecast")).to_be_visible()
        fits(page, width)
        screenshot(page, f"{width}-trav-account-queued-{lang}")
    page.context.add_cookies([{"name": "lang", "value": "en", "url": base}])
    expect(page.locator(".usage-forecast")).to_contain_text("下一個套餐")  # the zh_Hant page is the last shown

    page.goto(f"{base}/cards/{card_id}")
    page.get_by_role("link", name="Remove this card").click()
    expect(page.get_by_role("heading", name="Remove Mum +852 6123 4567 from your account?")).to_be_visible()
    fits(page, width)
    screenshot(page, f"{width}-trav-remove-confirm")
    page.get_by_role("button", name="Yes, remove this card").click()
    expect(page.get_by_text("Card +852 6123 4567 removed.")).to_be_visible()

    page.locator("summary", has_text="Menu").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    screenshot(page, f"{width}-trav-signed-out")
