"""The staff order page, with a discount, a refund and every date filled in, in a real Chromium: nothing
scrolls sideways at a tablet's 768 px or a phone's 390 px, in English and in Chinese."""

import pytest
from conftest import screenshot
from playwright.sync_api import expect
from staff_support import make_staff, paid_order_number
from test_journey_staff_pages import sign_in

from extensions import db

pytestmark = pytest.mark.browser


def busy_order(app) -> str:
    """A discounted 90-day order, its data added, part of it refunded: the longest "Plan and payment"."""
    from models import Order, Refund, utcnow

    number = paid_order_number(app, "fulfilled", plan_code="gba-90d", promo="WELCOME10")
    with app.app_context():
        order = db.session.scalars(db.select(Order).where(Order.number == number)).one()
        order.refunded_cents = 1234
        db.session.add(
            Refund(
                order_id=order.id,
                out_request_no=f"{number}-Swidth",
                amount_cents=1234,
                reason="Goodwill",
                status="done",
                done_at=utcnow(),
                method="alipay",
            )
        )
        db.session.commit()
    return number


# Text that runs out of its card: a column squeezed below its content spills instead of widening the page.
SPILLING = """(() => {
  const out = [], walker = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
  for (let node; (node = walker.nextNode()); ) {
    const card = node.parentElement.closest('.card'), range = document.createRange();
    range.selectNodeContents(node);
    if (card && range.getBoundingClientRect().right > card.getBoundingClientRect().right + 0.5)
      out.push(node.textContent.trim());
  }
  return out;
})()"""


def spilling(page) -> list[str]:
    return page.evaluate(SPILLING)


def scroll_width(page) -> tuple[int, int]:
    """The page's width and the viewport's as set: a mobile browser zooms out to fit a wider page, so
    window.innerWidth would grow with it."""
    return page.evaluate("document.documentElement.scrollWidth"), page.viewport_size["width"]


@pytest.mark.parametrize("width", [768, 390, 360])
def test_the_staff_order_page_does_not_scroll_sideways(page, live_server, app, width):
    number = busy_order(app)
    secret = make_staff(app, "mei", "supervisor")
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, "mei", secret)
    page.goto(f"{live_server}/staff/orders/{number}")
    expect(page.get_by_role("heading", name="Plan and payment")).to_be_visible()
    expect(page.locator("#h-money + .kv")).to_contain_text("WELCOME10")
    wide, viewport = scroll_width(page)
    screenshot(page, f"staff-order-{width}")
    assert wide <= viewport, f"{wide} px wide at {viewport} px"
    assert spilling(page) == []
    from rules.text import locales

    page.context.add_cookies([{"name": locales.COOKIE, "value": "zh_Hant", "url": live_server}])
    page.goto(f"{live_server}/staff/orders/{number}")
    expect(page.get_by_role("heading", name="套餐與付款")).to_be_visible()
    wide, viewport = scroll_width(page)
    screenshot(page, f"staff-order-{width}-zh_Hant")
    assert wide <= viewport, f"{wide} px wide at {viewport} px (zh_Hant)"
    assert spilling(page) == []
