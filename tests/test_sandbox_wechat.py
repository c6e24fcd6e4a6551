"""WeChat Pay's notifications and its sandbox: what is refused and kept for staff (forged, replayed,
re-encrypted, truncated, for another amount or currency), WeChat Pay's retry schedule, the sandbox
API's own checks and its time-out switch, and the cashier page at 360 px."""

import re
import threading
import time

import pytest
import requests
from conftest import csrf_token, load_order, make_order, post_form, screenshot
from cryptography.hazmat.primitives.asymmetric import rsa
from http_stub import posting_server
from sqlalchemy import select
from test_wechat_pay import InApp, open_cashier, wechat_order

from extensions import db
from gateways import wechat_signing
from gateways.payment_methods import GatewayError
from models import PaymentNotification
from rules.staff import staff_queues
from sandbox import deliveries, wechat_signer

NOTIFY = "/payments/wechat/notify"


def transaction(app, number: str, **changes) -> dict:
    """A paid transaction for order `number`, as WeChat Pay's notification resource has it."""
    order = load_order(app, number)
    data = {
        "mchid": app.config["WECHATPAY_MCHID"],
        "appid": app.config["WECHATPAY_APPID"],
        "out_trade_no": number,
        "transaction_id": "4200001234567890123456789",
        "trade_type": "MWEB",
        "trade_state": "SUCCESS",
        "success_time": "2026-12-03T20:00:00+08:00",
        "amount": {"total": order.total_cents, "currency": "HKD", "payer_total": order.total_cents},
    }
    return {**data, **changes}


def notify(client, app, body: str, headers: dict | None = None):
    with app.app_context():
        headers = headers if headers is not None else wechat_signer.signed_headers(body)
        return client.post(NOTIFY, data=body.encode("utf-8"), headers={"Content-Type": "application/json", **headers})


def body_for(app, data: dict, apiv3_key: str | None = None) -> str:
    with app.app_context():
        return wechat_signer.notification_body(data, apiv3_key)


def kept(app, number: str | None = None) -> list[str]:
    with app.app_context():
        query = select(PaymentNotification.outcome).where(PaymentNotification.provider == "wechat")
        if number is not None:
            query = query.where(PaymentNotification.out_trade_no == number)
        return list(db.session.scalars(query.order_by(PaymentNotification.id)))


def test_a_signed_encrypted_notification_is_applied_once_and_answered_204(app, client, plans):
    number = wechat_order(app)
    body = body_for(app, transaction(app, number))
    first, again = notify(client, app, body), notify(client, app, body)
    assert (first.status_code, first.data, again.status_code) == (204, b"", 204)
    assert load_order(app, number).state == "paid"
    assert kept(app, number) == ["paid", "duplicate"]


def test_a_forged_signature_is_refused_with_a_json_failure_and_kept_as_such(app, client, plans):
    number = wechat_order(app)
    body = body_for(app, transaction(app, number))
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with app.app_context():
        forged = wechat_signing.sign_body(body, stranger, wechat_signer.keys().platform_serial)
    answer = notify(client, app, body, forged)
    assert answer.status_code == 400 and answer.json == {"code": "FAIL", "message": "not accepted"}
    assert load_order(app, number).state == "pending_payment"
    assert kept(app) == ["bad_signature"]


def test_a_replay_outside_five_minutes_is_refused_as_stale(app, client, plans):
    number = wechat_order(app)
    body = body_for(app, transaction(app, number))
    with app.app_context():
        old = wechat_signer.signed_headers(body, timestamp=int(time.time()) - 301)
        fresh_enough = wechat_signer.signed_headers(body, timestamp=int(time.time()) - 240)
    assert notify(client, app, body, old).status_code == 400
    assert load_order(app, number).state == "pending_payment"
    assert kept(app) == ["stale"]
    assert notify(client, app, body, fresh_enough).status_code == 204  # within the tolerance
    assert load_order(app, number).state == "paid"


def test_a_notification_encrypted_with_another_api_v3_key_is_refused_as_undecryptable(app, client, plans):
    number = wechat_order(app)
    body = body_for(app, transaction(app, number), apiv3_key="0123456789abcdef0123456789abcdef")
    assert notify(client, app, body).status_code == 400  # signed by the platform, but not for our key
    assert load_order(app, number).state == "pending_payment"
    assert kept(app) == ["undecryptable"]


@pytest.mark.parametrize(
    "cut, outcome",
    [
        ("signed whole, sent truncated", "bad_signature"),
        ("truncated, then signed", "missing_fields"),
        ("not JSON, signed", "missing_fields"),
        ("no headers", "bad_signature"),
        ("NUL and CR/LF in the headers", "bad_signature"),
    ],
)
def test_a_truncated_or_malformed_notification_is_a_4xx_never_applied(app, client, plans, cut, outcome):
    number = wechat_order(app)
    body = body_for(app, transaction(app, number))
    with app.app_context():
        headers = wechat_signer.signed_headers(body)
        if cut == "signed whole, sent truncated":
            body = body[: len(body) // 2]
        elif cut == "truncated, then signed":
            body = body[: len(body) // 2]
            headers = wechat_signer.signed_headers(body)
        elif cut == "not JSON, signed":
            body = "code=SUCCESS&out_trade_no=" + number
            headers = wechat_signer.signed_headers(body)
        elif cut == "no headers":
            headers = {}
        else:
            headers = {**headers, "Wechatpay-Timestamp": "１７００００００００", "Wechatpay-Nonce": "a\x00b"}
    answer = notify(client, app, body, headers)
    assert 400 <= answer.status_code < 500
    assert load_order(app, number).state == "pending_payment"
    assert kept(app) == [outcome]


@pytest.mark.parametrize(
    "amount, outcome",
    [
        ({"total": 1, "currency": "HKD"}, "amount_mismatch"),
        ("same total, in CNY", "bad_amount"),
        ({"total": "88.00", "currency": "HKD"}, "bad_amount"),
    ],
)
def test_an_amount_or_currency_not_the_orders_is_not_applied_and_waits_for_staff(app, client, plans, amount, outcome):
    number = wechat_order(app)
    if amount == "same total, in CNY":
        amount = {"total": load_order(app, number).total_cents, "currency": "CNY"}
    answer = notify(client, app, body_for(app, transaction(app, number, amount=amount)))
    assert answer.status_code == 400
    assert load_order(app, number).state == "pending_payment"
    assert kept(app, number) == [outcome]
    with app.app_context():
        assert [item.row.out_trade_no for item in staff_queues.refused_notifications()] == [number]


def test_a_notification_for_another_merchant_is_refused(app, client, plans):
    number = wechat_order(app)
    answer = notify(client, app, body_for(app, transaction(app, number, mchid="1999999999")))
    assert answer.status_code == 400 and load_order(app, number).state == "pending_payment"
    assert kept(app) == ["wrong_app_id"]


class TimedReceiver:
    """A merchant failing its first `failures` posts (HTTP 500), then answering 204; notes each post."""

    def __init__(self, failures: int) -> None:
        self.failures, self.posts, self.lock = failures, [], threading.Lock()

    def __call__(self, path, headers, body):
        with self.lock:
            self.posts.append(
                (time.monotonic(), headers.get("Wechatpay-Timestamp"), headers.get("Wechatpay-Signature"))
            )
            return (500, b'{"code":"FAIL"}') if len(self.posts) <= self.failures else (204, b"")


def test_an_unanswered_notification_is_posted_again_on_wechat_pays_schedule(app, plans):
    scale = 0.002  # 15 s -> 30 ms ... the first five gaps take about 4 s
    app.config["SANDBOX_TIME_SCALE"] = scale
    receiver = TimedReceiver(failures=5)
    with posting_server(receiver) as url, app.app_context():
        number = make_order(app)
        body = wechat_signer.notification_body(transaction(app, number))
        deliveries.enqueue("wechat", "4200001234567890123456789", url + "/notify", [(0, body)])
        deliveries.wake(app)
        deadline = time.monotonic() + 20
        while len(receiver.posts) < 6 and time.monotonic() < deadline:
            time.sleep(0.02)
        deliveries.stop(app)
    assert len(receiver.posts) == 6  # five failures, then the accepted one; no more after 204
    gaps = [b[0] - a[0] for a, b in zip(receiver.posts, receiver.posts[1:], strict=False)]
    for gap, expected in zip(gaps, [15, 15, 30, 180, 600], strict=True):
        assert expected * scale - 0.01 <= gap <= expected * scale + 1.5
    signatures = {post[2] for post in receiver.posts}
    assert len(signatures) == 6  # each post signed afresh (a new nonce, a current timestamp)
    with app.app_context():
        assert [gap.total_seconds() for gap in wechat_signer.RETRY_GAPS] == [
            15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
        ]  # fmt: skip


def test_the_sandbox_api_refuses_a_request_not_signed_by_the_merchant(app, live_server):
    url = live_server + "/sandbox/wechat/v3/global/transactions/out-trade-no/RR261203-AAAAAA?mchid=1900000109"
    answer = requests.get(url, headers={"Authorization": 'WECHATPAY2-SHA256-RSA2048 mchid="1900000109"'}, timeout=5)
    assert answer.status_code == 401 and answer.json()["code"] == "SIGN_ERROR"
    assert "Wechatpay-Signature" not in answer.headers


def test_an_answer_not_signed_by_the_platform_key_we_know_is_a_gateway_error(app, live_server, plans):
    number = wechat_order(app)
    with app.app_context():
        InApp(app).start_payment(load_order(app, number), return_url="http://x/r", notify_url="http://x/n", quit_url="")
        assert InApp(app).query(number).trade_status == "WAIT_BUYER_PAY"  # signed by the key we know
    app.config["SANDBOX"] = False  # the real settings' path, pointed at the sandbox
    with app.app_context():
        merchant = wechat_signer.keys()
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    from cryptography.hazmat.primitives import serialization

    app.config.update(
        WECHATPAY_HOST=live_server + "/sandbox/wechat",
        WECHATPAY_PRIVATE_KEY=merchant.merchant_private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        WECHATPAY_CERT_SERIAL=merchant.merchant_serial,
        WECHATPAY_APIV3_KEY=merchant.apiv3_key,
        WECHATPAY_PLATFORM_SERIAL=merchant.platform_serial,
        WECHATPAY_PLATFORM_PUBLIC_KEY=stranger.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
    )
    with pytest.raises(GatewayError, match="not signed"):
        InApp(app).query(number)
    app.config["SANDBOX"] = True


def test_the_switch_page_makes_api_calls_time_out_into_gateway_errors(app, client, live_server, plans):
    app.config["WECHATPAY_TIMEOUT"] = 0.3
    saved = post_form(client, "/sandbox/wechat/", timeout_percent="100")
    assert saved.status_code == 303
    assert "100" in client.get("/sandbox/wechat/").text
    started = time.monotonic()
    with pytest.raises(GatewayError, match="unreachable"):
        InApp(app).query("RR261203-AAAAAA")
    assert time.monotonic() - started >= 0.3
    assert post_form(client, "/sandbox/wechat/", timeout_percent="101").status_code == 422


def test_the_cashier_refuses_a_bad_form_and_an_unknown_prepay_id(app, client, live_server, plans, sign_in):
    sign_in()
    number = wechat_order(app)
    cashier = open_cashier(client, number)
    assert client.get("/sandbox/wechat/cashier?prepay_id=wx%00%0d%0a").status_code in (400, 404)
    assert client.get("/sandbox/wechat/cashier?prepay_id=wx0000").status_code == 404
    action = re.search(r'action="([^"]*/pay[^"]*)"', cashier.text).group(1).replace("&amp;", "&")
    bad = client.post(action, data={"csrf_token": csrf_token(cashier.text), "behaviour": "everything", "delay": "x"})
    assert bad.status_code == 422 and load_order(app, number).state == "pending_payment"
    assert client.post(action, data={"behaviour": "normal", "delay": "0"}).status_code == 400  # no CSRF token


@pytest.mark.browser
@pytest.mark.parametrize("width", [360, 390])
def test_the_sandbox_cashier_on_a_phone(app, live_server, page, plans, width):
    from browser_steps import sign_in

    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, live_server)
    number = wechat_order(app)
    page.goto(f"{live_server}/orders/{number}/pay")
    assert "/sandbox/wechat/cashier" in page.url
    assert page.get_by_text("SANDBOX").first.is_visible()
    button = page.get_by_role("button", name="Pay")
    box = button.bounding_box()
    assert box["height"] >= 44 and box["x"] + box["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"sandbox_wechat_cashier_{width}")
    button.click()
    page.wait_for_url(f"**/orders/{number}*")
    deadline = time.monotonic() + 10
    while load_order(app, number).state == "pending_payment" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert load_order(app, number).state != "pending_payment"
