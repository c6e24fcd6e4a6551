"""The local Stripe sandbox speaks Stripe's API manners (Bearer key, errors, Idempotency-Key, expiry
bounds), signs and retries its webhooks as Stripe does; and webhooks that are forged, replayed,
signed with another secret, truncated, or name another amount or currency are never applied."""

import json
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
import test_stripe_pay
from conftest import csrf_token, load_order, screenshot
from http_stub import posting_server
from sqlalchemy import select, update
from test_late_payments import wait_for
from test_sandbox_retries import gaps
from test_stripe_pay import card_order, open_checkout, pay_by_card

from extensions import db
from models import PaymentNotification, utcnow
from rules.staff import staff_queues
from sandbox import deliveries, stripe_webhooks
from sandbox.stripe_models import SandboxStripeSession

shop = test_stripe_pay.shop  # the same fixture: a signed-in traveller, the app served over HTTP


def api(app, method: str, path: str, key: str | None = None, **kwargs):
    key = app.config["STRIPE_SECRET_KEY"] if key is None else key
    url = app.config["PUBLIC_BASE_URL"] + "/sandbox/stripe" + path
    return requests.request(
        method, url, headers={"Authorization": f"Bearer {key}", **kwargs.pop("headers", {})}, timeout=10, **kwargs
    )


def session_params(**changes) -> dict:
    params = {
        "mode": "payment",
        "line_items[0][quantity]": "1",
        "line_items[0][price_data][currency]": "hkd",
        "line_items[0][price_data][unit_amount]": "5800",
        "line_items[0][price_data][product_data][name]": "RoamRenew test",
        "success_url": "http://127.0.0.1/back?session_id={CHECKOUT_SESSION_ID}",
        "client_reference_id": "RRTEST",
        "expires_at": str(int(time.time()) + 3600),
    }
    return {**params, **changes}


def test_the_api_wants_the_apps_secret_key_and_answers_in_stripes_error_shape(shop):
    refused = api(shop, "GET", "/v1/checkout/sessions", key="sk_test_someone_else")
    assert refused.status_code == 401
    assert refused.json()["error"]["type"] == "invalid_request_error"
    missing = api(shop, "GET", "/v1/checkout/sessions/cs_test_nothing")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "resource_missing")


def test_an_idempotency_key_gives_the_first_answer_again_and_refuses_other_parameters(shop):
    params, key = session_params(), {"Idempotency-Key": "k1"}
    first = api(shop, "POST", "/v1/checkout/sessions", data=params, headers=key)
    again = api(shop, "POST", "/v1/checkout/sessions", data=params, headers=key)
    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    other = {**params, "line_items[0][price_data][unit_amount]": "100"}
    conflict = api(shop, "POST", "/v1/checkout/sessions", data=other, headers=key)
    assert (conflict.status_code, conflict.json()["error"]["type"]) == (400, "idempotency_error")
    with shop.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(SandboxStripeSession)) == 1


@pytest.mark.parametrize("seconds", [60, 25 * 3600])
def test_expires_at_must_be_between_30_minutes_and_a_day_ahead(shop, seconds):
    refused = api(
        shop, "POST", "/v1/checkout/sessions", data=session_params(expires_at=str(int(time.time()) + seconds))
    )
    assert (refused.status_code, refused.json()["error"]["param"]) == (400, "expires_at")


@pytest.mark.parametrize(
    "field, value",
    [
        ("line_items[0][price_data][unit_amount]", "-5"),
        ("line_items[0][price_data][unit_amount]", "١٢"),
        ("mode", "subscription"),
        ("success_url", "javascript:alert(1)"),
    ],
)
def test_bad_parameters_are_a_400_never_a_500(shop, field, value):
    answer = api(shop, "POST", "/v1/checkout/sessions", data=session_params(**{field: value}))
    assert answer.status_code == 400 and "message" in answer.json()["error"]


@pytest.mark.browser
def test_the_checkout_page_says_sandbox_asks_for_no_card_and_fits_a_phone(shop, client, page):
    number = card_order(shop)
    path = open_checkout(client, number)
    html = client.get(path).text
    assert "SANDBOX" in html and "This is not Stripe" in html
    assert 'name="card' not in html and "cardnumber" not in html  # the test card is shown, never a field
    for width in (390, 360):
        page.set_viewport_size({"width": width, "height": 800})
        page.goto(shop.config["PUBLIC_BASE_URL"] + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, f"sandbox-stripe-checkout-{width}")
    page.goto(shop.config["PUBLIC_BASE_URL"] + f"/lang/zh_Hant?next={path}")
    assert "這不是 Stripe" in page.content()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, "sandbox-stripe-checkout-360-zh_Hant")


@pytest.mark.browser
def test_the_switch_page_makes_a_share_of_api_calls_time_out(shop, client, page):
    switches = client.get("/sandbox/stripe/")
    assert "SANDBOX" in switches.text
    saved = client.post("/sandbox/stripe/", data={"csrf_token": csrf_token(switches.text), "timeout_percent": "40"})
    assert saved.status_code == 303
    assert 'value="40"' in client.get("/sandbox/stripe/").text
    refused = client.post("/sandbox/stripe/", data={"csrf_token": csrf_token(switches.text), "timeout_percent": "٤٠"})
    assert refused.status_code == 422
    assert client.post("/sandbox/stripe/", data={"timeout_percent": "0"}).status_code == 400  # no CSRF token
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(shop.config["PUBLIC_BASE_URL"] + "/sandbox/stripe/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "sandbox-stripe-switches-390")


def test_a_delay_in_other_scripts_digits_is_refused_and_pays_nothing(shop, client):
    number = card_order(shop)
    path = open_checkout(client, number)
    page = client.get(path)
    refused = client.post(path, data={"csrf_token": csrf_token(page.text), "behaviour": "delay", "delay": "٥"})
    assert refused.status_code == 422 and "Type the number with the digits 0-9." in refused.text
    with shop.app_context():
        assert db.session.scalars(select(SandboxStripeSession.status)).one() == "open"


def test_a_session_past_its_expires_at_expires_and_stripe_says_so(shop, client):
    number = card_order(shop)
    path = open_checkout(client, number)
    with shop.app_context():
        db.session.execute(update(SandboxStripeSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert "has expired and can no longer be paid" in client.get(path).text
    assert pay_by_card(client, path).status_code == 409
    assert wait_for(lambda: kept(shop) == ["ignored_status"])  # checkout.session.expired: our records lead
    assert load_order(shop, number).state == "pending_payment"


def test_outside_the_sandbox_there_is_no_stripe_sandbox(app_with):
    client = app_with(SANDBOX=False).test_client()
    assert client.get("/sandbox/stripe/").status_code == 404
    assert client.post("/sandbox/stripe/v1/checkout/sessions").status_code == 404


# --- webhooks: signed as Stripe signs them, retried on its schedule ------------------------------


def test_webhooks_are_signed_with_the_endpoint_secret_and_retried_until_a_2xx(shop, client):
    shop.config["SANDBOX_TIME_SCALE"] = 0.0001  # Stripe's 10 minutes in 0.06 s
    seen = []

    def answer(_path, headers, body: bytes):
        seen.append((time.monotonic(), headers.get("Stripe-Signature", ""), json.loads(body)))
        return (500, b"") if len(seen) <= 2 else (200, b'{"received": true}')

    with posting_server(answer) as url:
        with shop.test_request_context():
            deliveries.enqueue(
                "stripe", "pi_test", url, [(0, stripe_webhooks.event("checkout.session.expired", {"id": "cs_x"}))]
            )
            deliveries.wake(shop)
        assert wait_for(lambda: len(seen) == 3, 10)
    signature = seen[0][1]
    assert signature.startswith("t=") and ",v1=" in signature
    assert seen[0][2]["type"] == "checkout.session.expired"
    # Stripe's first two pauses (10 and 20 minutes) on the compressed clock: never early.
    between = gaps([moment for moment, _signature, _body in seen])
    assert all(gap >= expected * 0.95 for gap, expected in zip(between, (0.06, 0.12), strict=True)), between


def post_event(app, body: str, secret: str | None = None, timestamp: int | None = None) -> requests.Response:
    url = app.config["PUBLIC_BASE_URL"] + "/payments/stripe/notify"
    signature = stripe_webhooks.sign(body, secret or app.config["STRIPE_WEBHOOK_SECRET"], timestamp)
    headers = {"Content-Type": "application/json", "Stripe-Signature": signature}
    return requests.post(url, data=body.encode(), headers=headers, timeout=10)


def completed(app, number: str, **changes) -> str:
    order = load_order(app, number)
    session = {
        "id": "cs_test_forged",
        "object": "checkout.session",
        "amount_total": order.total_cents,
        "currency": "hkd",
        "client_reference_id": number,
        "metadata": {"order": number},
        "payment_intent": "pi_forged",
        "payment_status": "paid",
        "status": "complete",
        **changes,
    }
    with app.app_context():
        return stripe_webhooks.event("checkout.session.completed", session)


def kept(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(PaymentNotification.outcome).order_by(PaymentNotification.id)))


@pytest.mark.parametrize(
    "how, outcome",
    [
        ("another secret", "bad_signature"),
        ("replayed", "stale"),
        ("truncated", "bad_signature"),
        ("truncated and signed", "missing_fields"),
        ("no signature", "bad_signature"),
        ("not utf-8", "missing_fields"),
        ("signed, a list", "missing_fields"),
        ("signed, no object", "missing_fields"),
    ],
)
def test_a_webhook_not_signed_now_with_our_secret_is_refused_kept_and_never_applied(shop, how, outcome):
    number = card_order(shop)
    body = completed(shop, number)
    url = shop.config["PUBLIC_BASE_URL"] + "/payments/stripe/notify"
    if how == "another secret":
        answer = post_event(shop, body, secret="whsec_someone_else")
    elif how == "replayed":
        answer = post_event(shop, body, timestamp=int(time.time()) - 301)
    elif how == "truncated":
        signature = stripe_webhooks.sign(body, shop.config["STRIPE_WEBHOOK_SECRET"])
        answer = requests.post(url, data=body[:-20].encode(), headers={"Stripe-Signature": signature}, timeout=10)
    elif how == "truncated and signed":
        answer = post_event(shop, body[:-20])
    elif how == "signed, a list":
        answer = post_event(shop, "[]")
    elif how == "signed, no object":
        answer = post_event(shop, json.dumps({**json.loads(body), "data": {"object": "cs_test_forged"}}))
    elif how == "no signature":
        answer = requests.post(url, data=body.encode(), timeout=10)
    else:
        answer = requests.post(
            url, data=b"\xff\xfe" + body.encode(), headers={"Stripe-Signature": "t=1,v1=00"}, timeout=10
        )
    assert answer.status_code == 400 and answer.json() == {"received": False}
    assert kept(shop) == [outcome]
    assert load_order(shop, number).state == "pending_payment"


def test_the_same_webhook_signed_now_pays_once_and_its_repeat_is_a_duplicate(shop):
    number = card_order(shop)
    body = completed(shop, number)
    assert post_event(shop, body).status_code == 200
    assert post_event(shop, body).json() == {"received": True}
    assert kept(shop) == ["paid", "duplicate"]
    assert load_order(shop, number).trade_no == "pi_forged"


@pytest.mark.parametrize("changes", [{"amount_total": 1}, {"currency": "usd"}], ids=["amount", "currency"])
def test_a_webhook_naming_another_amount_or_currency_is_not_applied_and_waits_for_staff(shop, changes):
    number = card_order(shop)
    answer = post_event(shop, completed(shop, number, **changes))
    assert answer.status_code == 400
    assert kept(shop) == ["amount_mismatch"]
    assert load_order(shop, number).state == "pending_payment"
    with shop.app_context():
        assert [item.order.number for item in staff_queues.refused_notifications()] == [number]


def test_an_unpaid_completed_session_and_a_refund_event_are_kept_and_change_nothing(shop):
    number = card_order(shop)
    assert post_event(shop, completed(shop, number, payment_status="unpaid", payment_intent=None)).status_code == 200
    with shop.app_context():
        refund = stripe_webhooks.event(
            "refund.updated", {"id": "re_1", "object": "refund", "amount": 5, "payment_intent": "pi_x", "metadata": {}}
        )
    assert post_event(shop, refund).status_code == 200
    assert kept(shop) == ["ignored_status", "ignored_status"]
    assert load_order(shop, number).state == "pending_payment"


def test_reorder_sends_a_stale_unpaid_completion_around_the_paid_one_and_the_order_stays_paid(shop, client):
    number = card_order(shop)
    path = open_checkout(client, number)
    page = client.get(path)
    client.post(path, data={"csrf_token": csrf_token(page.text), "behaviour": "reorder", "delay": "1"})
    assert wait_for(lambda: len(kept(shop)) == 3, 15)
    assert kept(shop) == ["ignored_status", "paid", "ignored_status"]
    assert load_order(shop, number).state == "paid"
    assert urlsplit(client.get(path).request.url).path == path


@pytest.mark.parametrize(
    "query, status",
    [
        ("", 400),
        ("order=RR1&session_id=not-a-session", 400),
        ("order=" + "R" * 21 + "&session_id=cs_test_x", 400),
        ("order=RR%00&session_id=cs_test_x", 400),  # NUL: refused before anything reads it
        ("order=RRNEVER&session_id=cs_test_x", 404),
    ],
)
def test_a_return_from_checkout_names_an_order_and_a_session_or_is_refused(client, query, status):
    assert client.get(f"/payments/stripe/return?{query}").status_code == status
