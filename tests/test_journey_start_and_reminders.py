"""In a real browser, with and without JavaScript: choosing when a pack starts on the review page, and
turning reminders on for a card on the account page."""

import re

import pytest
from browser_steps import sign_in
from conftest import screenshot
from playwright.sync_api import expect
from test_start_now import add_card_with_running_pack

GB = 1024
pytestmark = pytest.mark.browser


def choose_after_the_current_pack(page, base, card_id, submit):
    page.goto(f"{base}/checkout?plan=trio-7d&card={card_id}")
    expect(page.get_by_role("radio", name=re.compile("^Start now"))).to_be_checked()  # little is lost
    expect(page.get_by_text(re.compile(r"3 GB and \d+ days left on your current pack are lost"))).to_be_visible()
    page.set_viewport_size({"width": 360, "height": 800})
    screenshot(page, f"360-review-start-now-loss-{'nojs' if submit else 'js'}")
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("radio", name=re.compile("^After the current pack")).check()
    if submit:
        page.get_by_role("button", name="Use this start").click()
    expect(page.get_by_text("right after the pack already on this card ends")).to_be_visible()
    expect(page).to_have_url(re.compile("start=after_current"))
    expect(page.get_by_role("radio", name=re.compile("^After the current pack"))).to_be_checked()


def test_choose_the_start_and_turn_on_reminders_with_javascript(app, page, live_server, plans):
    sign_in(page, live_server)
    card_id = add_card_with_running_pack(app, "hk-30d", 27 * GB)  # 3 GB of 30 left
    choose_after_the_current_pack(page, live_server, card_id, submit=False)
    screenshot(page, "review-start-choice")
    page.goto(f"{live_server}/account")
    page.get_by_role("button", name=re.compile("Turn reminders on")).click()
    expect(page.get_by_text("Reminders on:")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Turn reminders off"))).to_be_focused()
    page.reload()
    expect(page.get_by_text("Reminders on:")).to_be_visible()
    screenshot(page, "js-account-reminders-on")


def test_choose_the_start_and_turn_on_reminders_without_javascript(app, no_js_page, live_server, plans):
    page = no_js_page
    sign_in(page, live_server)
    card_id = add_card_with_running_pack(app, "hk-30d", 27 * GB)  # 3 GB of 30 left
    choose_after_the_current_pack(page, live_server, card_id, submit=True)
    page.goto(f"{live_server}/account")
    page.get_by_role("button", name=re.compile("Turn reminders on")).click()
    expect(page.get_by_text("Reminders turned on.")).to_be_visible()
    expect(page).to_have_url(f"{live_server}/account")
    expect(page.get_by_text("Reminders on:")).to_be_visible()
