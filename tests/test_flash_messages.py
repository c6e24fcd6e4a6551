"""A message shows on the page where its action happened, once: with JavaScript on (htmx swaps only
part of the page) as well as off (a full page after the redirect)."""

import pytest
from browser_steps import sign_in as sign_in_in_browser
from conftest import csrf_token, make_order, screenshot
from playwright.sync_api import expect

CANCELLED = "Order cancelled"
HTMX = {"HX-Request": "true", "HX-Current-URL": "http://localhost/", "HX-Target": "order-state"}


def test_an_htmx_cancel_brings_its_message_to_the_order_page_and_never_to_a_later_page(app, client, sign_in):
    sign_in()
    number = make_order(app)
    token = csrf_token(client.get(f"/orders/{number}").text)
    # The cancel button sits in the order's state box, which htmx replaces (HX-Target: order-state).
    answer = client.post(f"/orders/{number}/cancel", data={"csrf_token": token}, headers=HTMX, follow_redirects=True)
    assert answer.status_code == 200 and 'id="order-state"' in answer.text
    assert '<div id="flashes" class="flashes" role="status" hx-swap-oob="true">' in answer.text
    assert CANCELLED in answer.text or "could not reach the payment service" in answer.text
    # Shown once: neither the next poll of the order nor the home page or the orders list repeats it.
    for url, headers in ((f"/orders/{number}", HTMX), ("/", {}), ("/orders", {})):
        page = client.get(url, headers=headers).text
        assert CANCELLED not in page and "could not reach the payment service" not in page, url


def test_a_poll_without_messages_leaves_the_message_region_alone(app, client, sign_in):
    sign_in()
    number = make_order(app)
    poll = client.get(f"/orders/{number}", headers=HTMX)
    assert poll.status_code == 200 and 'id="order-state"' in poll.text and "flashes" not in poll.text


def test_without_javascript_the_message_is_on_the_full_order_page(app, client, sign_in):
    sign_in()
    number = make_order(app)
    token = csrf_token(client.get(f"/orders/{number}").text)
    answer = client.post(f"/orders/{number}/cancel", data={"csrf_token": token}, follow_redirects=True)
    assert answer.status_code == 200 and "<html" in answer.text
    assert '<div id="flashes" class="flashes" role="status"><p class="flash' in answer.text
    assert CANCELLED not in client.get("/").text


@pytest.mark.browser
def test_cancelling_with_javascript_on_says_so_on_the_order_page_once(app, live_server, page):
    sign_in_in_browser(page, live_server)
    number = make_order(app)
    page.goto(f"{live_server}/orders/{number}")
    page.get_by_role("link", name="Cancel this order").click()  # the confirm step first
    page.get_by_role("button", name="Yes, cancel this order").click()
    expect(page.locator("#flashes")).to_contain_text(CANCELLED)
    expect(page.locator("#order-state")).to_contain_text("This order was cancelled.")
    assert page.url.endswith(f"/orders/{number}")
    screenshot(page, "flash-cancel-order-page-390")
    page.goto(f"{live_server}/")
    expect(page.locator("main")).to_be_visible()
    expect(page.locator("#flashes")).not_to_contain_text(CANCELLED)
    page.goto(f"{live_server}/orders")
    expect(page.locator("#flashes")).not_to_contain_text(CANCELLED)
