"""/shops on a 360 px phone with JavaScript off, and a partner's counter and end of day at 390 px, in a
real Chromium: the filters work as a plain form, nothing scrolls sideways, tap targets are 44 px."""

from types import SimpleNamespace

import pytest
from conftest import make_order, screenshot
from playwright.sync_api import expect
from shops_support import make_location, make_partner
from staff_support import PASSWORD
from test_journey_staff_pages import fits

from rules.travellers import iccid

pytestmark = pytest.mark.browser


def screen(page, name: str) -> None:
    """The full page, and what the first screen shows (the full page of a long list is hard to read)."""
    screenshot(page, name)
    page.screenshot(path=f"test-artifacts/screenshots/{name}-screen.png")


def small_targets(page) -> list:
    return page.evaluate(
        "[...document.querySelectorAll('main a.button, main button, main .chips label, main select')]"
        ".filter(e => e.offsetParent && e.getBoundingClientRect().height < 44).map(e => e.textContent.trim())"
    )


@pytest.mark.parametrize("language", ["en", "zh_Hant", "zh_Hans"])
def test_the_shops_page_filters_without_javascript_at_360_px(no_js_page, live_server, app, plans, language):
    page = no_js_page
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{live_server}/lang/{language}?next=/shops")
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator(".shop")).to_have_count(8)
    fits(page)
    assert small_targets(page) == []
    screen(page, f"shops-360-{language}-1-all")
    page.locator("input[name=kind][value=airport_counter]").check()
    page.locator("#shops-district").select_option("islands")
    page.locator("noscript button, form.filters button").first.click()
    expect(page.locator(".shop")).to_have_count(2)
    assert "kind=airport_counter" in page.url and "district=islands" in page.url
    fits(page)
    screen(page, f"shops-360-{language}-2-airport")


def test_a_partner_takes_a_payment_and_closes_the_day_at_390_px(page, live_server, app):
    make_order(app)  # the demo plans and the card +852 6123 4567
    make_partner(app, "pa", make_location(app, "desk-a", "Causeway Bay Phone Corner"))
    page.goto(live_server + "/staff/login")
    page.get_by_label("Username").fill("pa")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Counter payment")).to_be_visible()
    page.get_by_label("Card number").fill("6123 4567")
    page.get_by_label("Last 4 digits of the ICCID").fill(iccid.with_check_digit("898520085261234567")[-4:])
    page.get_by_label("ID shown").select_option("home_return")
    page.get_by_label("Last 4 characters of the ID").fill("4321")
    page.get_by_label("Plan").select_option("gba-3d")
    fits(page)
    screen(page, "partner-counter-390-1-form")
    page.get_by_role("button", name="Check the payment").click()
    expect(page.get_by_text("Record HK$58.00")).to_be_visible()
    screen(page, "partner-counter-390-2-confirm")
    page.get_by_role("button", name="Yes, record the payment").click()
    expect(page.get_by_role("heading", name="Receipt")).to_be_visible()
    expect(page.get_by_role("button", name="Print the receipt")).to_be_visible()  # print.js shows it
    fits(page)
    screen(page, "partner-counter-390-3-receipt")
    page.goto(live_server + "/staff/day")
    expect(page.get_by_role("heading", name="End of day")).to_be_visible()
    fits(page)
    screen(page, "partner-day-390-1-open")
    page.get_by_role("button", name="Close this day").click()
    expect(page.get_by_text("The day is closed.")).to_be_visible()
    expect(page.get_by_text("Closed by pa")).to_be_visible()
    fits(page)
    screen(page, "partner-day-390-2-closed")


def test_with_javascript_a_filter_swaps_only_the_list_and_keeps_the_address(page, live_server, app, plans):
    page.goto(live_server + "/shops")
    page.locator("#shops-district").select_option("north")
    expect(page.locator(".shop")).to_have_count(1)
    expect(page).to_have_url(live_server + "/shops?kind=&district=north")
    page.locator("label", has_text="Carrier shop").click()
    expect(page.get_by_text("No place matches")).to_be_visible()
    page.reload()  # the pushed address is a full page of its own
    expect(page.get_by_text("No place matches")).to_be_visible()
    fits(page)
    screen(page, "shops-390-js-filtered")


def test_a_supervisor_reads_the_settlement_at_390_px(page, live_server, app):
    from staff_support import make_staff
    from test_day_close import SUPERVISOR
    from test_journey_staff_pages import sign_in

    from extensions import db
    from models import Location
    from rules.shops import takings

    make_order(app)
    for code, name in (("desk-a", "Causeway Bay Phone Corner"), ("desk-b", "Lo Wu Station Travel Kiosk")):
        make_location(app, code, name)
        with app.test_request_context():
            from rules.staff import counter_payments

            actor = SimpleNamespace(id=None, username="desk", role="agent", location_id=None)
            counter_payments.record("6123 4567", "gba-3d", "card", code, "", counter_payments.new_request_id(), actor)
            db.session.commit()
            takings.close(
                db.session.scalars(db.select(Location).where(Location.code == code)).one(),
                takings.hk_today(),
                SUPERVISOR,
            )
            db.session.commit()
    sign_in(page, live_server, "mei", make_staff(app, "mei", "supervisor"))
    page.goto(live_server + "/staff/settlement")
    expect(page.get_by_role("heading", name="Settlement")).to_be_visible()
    expect(page.get_by_text("HK$116.00 in all")).to_be_visible()
    fits(page)
    screen(page, "supervisor-settlement-390")
