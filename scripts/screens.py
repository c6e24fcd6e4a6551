"""Screenshots of every traveller page at 360×740 and 390×844 in the three languages, for a design review.

    .venv/bin/python scripts/screens.py TAG      # -> test-artifacts/screenshots/TAG-<width>-<lang>-<page>.png

A throwaway SQLite database, the app on 127.0.0.1, Debian's /usr/bin/chromium. Also prints, per page,
the header's height and the y position of the page's <h1>.
"""

import os
import re
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

import flask_migrate
from playwright.sync_api import sync_playwright
from sqlalchemy import select, update
from werkzeug.serving import make_server

from app import create_app
from extensions import db

OUT = os.path.join(os.path.dirname(__file__), "..", "test-artifacts", "screenshots")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
SIZES = [(360, 740), (390, 844)]
LANGS = ["en", "zh_Hans", "zh_Hant"]
MEASURE = """() => {
    const bottom = (document.querySelector('.sandbox-banner') || document.querySelector('header'));
    return {header: Math.round(bottom.getBoundingClientRect().bottom),
            h1: Math.round(document.querySelector('h1').getBoundingClientRect().top),
            wide: document.documentElement.scrollWidth};
}"""


def main(tag: str) -> None:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    tmp = tempfile.mkdtemp()
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/s.db", "TESTING": True, "RATELIMIT_ENABLED": False})
    with app.app_context():
        flask_migrate.upgrade()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = app.config["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    from conftest import make_order

    from sandbox import demo_data

    with app.app_context():
        demo_data.seed()
    os.makedirs(OUT, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1, is_mobile=True)
        page = context.new_page()
        from browser_steps import bind_card, sign_in

        sign_in(page, base)
        bind_card(page)
        # One paid order through the real cashier, others in every state.
        page.goto(f"{base}/checkout?plan=gba-7d")
        page.get_by_role("button", name="Confirm and pay with Alipay").click()
        page.wait_for_url(re.compile(r"/sandbox/alipay/gateway"))
        cashier = page.url
        page.get_by_role("button", name=re.compile(r"^Pay ")).click()
        page.wait_for_url(re.compile(r"/orders/RR"))
        page.get_by_text(re.compile("Done")).first.wait_for(timeout=15_000)
        paid = page.url.rsplit("/", 1)[1]
        from models import Card, Order

        with app.app_context():
            msisdn = db.session.scalars(select(Card.msisdn)).first()
        numbers = {}
        for state, plan in [("pending_payment", "hk-1d"), ("cancelled", "gba-1d"), ("expired", "trio-7d")]:
            numbers[state] = make_order(app, plan, phone="+85291234567", msisdn=msisdn)
        with app.app_context():
            for state in ("cancelled", "expired"):
                db.session.execute(update(Order).where(Order.number == numbers[state]).values(state=state))
            db.session.commit()
            from rules.ordering import receipts

            with app.test_request_context():
                order = db.session.scalars(select(Order).where(Order.number == paid)).one()
                verify = receipts.verification_url(order).replace(app.config["PUBLIC_BASE_URL"], "")
        pages = {
            "home": "/",
            "plans": "/plans",
            "plan": "/plans/gba-7d",
            "cards": "/cards",
            "choose-plan": "/checkout?change=plan&plan=gba-7d",
            "review": "/checkout?plan=gba-7d",
            "orders": "/orders",
            "status-pending": f"/orders/{numbers['pending_payment']}",
            "status-done": f"/orders/{paid}",
            "receipt": f"/orders/{paid}/receipt",
            "verify": verify,
            "cashier-paid": cashier.replace(base, ""),
            "sms": "/sandbox/sms",
            "404": "/nowhere",
        }
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            for lang in LANGS:
                context.add_cookies([{"name": "lang", "value": lang, "url": base}])
                for name, path in pages.items():
                    page.goto(base + path)
                    if name == "review":
                        page.locator("details.promo summary").click()
                        page.locator("#promo_code").fill("WELCOME10")
                        page.locator("#promo-apply").click()
                        page.wait_for_timeout(500)
                    m = page.evaluate(MEASURE)
                    print(f"{width} {lang:8} {name:15} header-bottom={m['header']} h1-top={m['h1']} width={m['wide']}")
                    page.screenshot(path=os.path.join(OUT, f"{tag}-{width}-{lang}-{name}.png"), full_page=True)
                    if name == "cards":
                        page.locator(".menu summary").click()
                        page.screenshot(path=os.path.join(OUT, f"{tag}-{width}-{lang}-menu-open.png"))
            # Signed out: the sign-in pages.
        context.clear_cookies()
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            for lang in LANGS:
                context.add_cookies([{"name": "lang", "value": lang, "url": base}])
                page.goto(base + "/login")
                page.screenshot(path=os.path.join(OUT, f"{tag}-{width}-{lang}-login.png"), full_page=True)
                page.locator("input[type=tel]").fill("5555 1234")
                page.locator("form.card-form button").click()
                page.wait_for_timeout(300)
                page.screenshot(path=os.path.join(OUT, f"{tag}-{width}-{lang}-login-error.png"), full_page=True)
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "shot")
