"""The staff pages that name payment methods, in a real Chromium at 390 and 360 px, in English and 繁體:
the order file with each provider's notifications, calls and refunds, the reconciliation grouped by
provider, and the sales split by method. Nothing scrolls sideways."""

import pytest
from conftest import SCREENSHOTS, load_order, make_order, run_jobs, screenshot
from playwright.sync_api import expect
from staff_support import make_staff, paid_order_number
from test_journey_staff_pages import fits, sign_in
from test_staff_per_method import FakeMethod, notify

import jobs
from extensions import db
from gateways import providers
from gateways.payment_methods import BillLine, BillNotReady
from models import Order, utcnow
from rules.payments import reconciliation
from rules.text import locales

pytestmark = pytest.mark.browser


@pytest.fixture
def fakes(monkeypatch):
    methods = {name: FakeMethod(name) for name in ("wechat", "stripe")}
    for name, method in methods.items():
        monkeypatch.setitem(providers.PROVIDERS, name, method)
    return methods


def an_order_paid_twice(app) -> str:
    """Asked of WeChat Pay by the query job, paid by WeChat Pay, then paid again by card (refunded at the card)."""
    number = make_order(app, plan_code="hk-1d", msisdn="+85261230001")
    with app.app_context():
        db.session.execute(
            db.update(Order)
            .where(Order.number == number)
            .values(payment_method="wechat", created_at=utcnow() - 2 * jobs.QUERY_AFTER)
        )
        db.session.commit()
    run_jobs(app)
    client, cents = app.test_client(), load_order(app, number).total_cents
    assert notify(client, "wechat", number, "WX-J1", cents).status_code == 200
    assert notify(client, "stripe", number, "pi_J1", cents).status_code == 200
    run_jobs(app)
    return number


@pytest.mark.parametrize("width", [390, 360])
def test_the_per_method_staff_pages_fit_a_phone_in_english_and_chinese(page, live_server, app, fakes, width):
    app.config["ALIPAY_SANDBOX_BILL_DELAY_HOURS"] = -24  # the sandbox's bill of today is ready
    paid_order_number(app)  # by Alipay
    number = an_order_paid_twice(app)
    cents = load_order(app, number).total_cents
    fakes["wechat"].bill = [BillLine("payment", "WX-J1", number, None, cents - 500, utcnow())]
    fakes["stripe"].bill_error = BillNotReady("the balance report of this day is not ready")
    with app.app_context():
        assert reconciliation.run(reconciliation.hk_today()).status == "not_ready"  # the card's bill is late
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, "root", make_staff(app, "root", "admin"))

    for language in ("en", "zh_Hant"):
        page.context.add_cookies([{"name": locales.COOKIE, "value": language, "url": live_server}])
        page.goto(f"{live_server}/staff/orders/{number}")
        fits(page)
        screenshot(page, f"staff-per-method-{width}-{language}-1-order")
        gateway = page.locator("section", has=page.locator("#h-gateway"))
        gateway.screenshot(path=f"{SCREENSHOTS}/staff-per-method-{width}-{language}-1-order-gateway.png")
        page.goto(f"{live_server}/staff/reconciliation?day={reconciliation.hk_today().isoformat()}")
        expect(page.locator("h3.recon-provider")).to_have_count(3)
        fits(page)
        page.locator("#h-diff").scroll_into_view_if_needed()
        screenshot(page, f"staff-per-method-{width}-{language}-2-reconciliation")
        page.goto(f"{live_server}/staff/sales")
        fits(page)
        screenshot(page, f"staff-per-method-{width}-{language}-3-sales")
    page.context.add_cookies([{"name": locales.COOKIE, "value": "en", "url": live_server}])
