"""The local Alipay sandbox gateway, played over real HTTP against the real SDK.

The app runs on a werkzeug server on 127.0.0.1; the adapter's query / close / refund go to it
through the SDK's execute(), and its notifications go to a tiny merchant receiver in the test.
The browser's part (cashier page, Pay button) uses the test client, with CSRF on.
"""

import json
import re
import threading
import time
import urllib.parse
import urllib.request
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from alipay.aop.api.util import SignatureUtils
from conftest import csrf_token
from http_stub import posting_server
from werkzeug.serving import make_server

from gateways import alipay_gateway, alipay_keys
from gateways.alipay_gateway import GatewayError
from models import Order, utcnow
from sandbox import alipay_signer, deliveries

RETURN_URL = "http://127.0.0.1:8000/payments/alipay/return"
QUIT_URL = "http://127.0.0.1:8000/orders/quit"
WAIT_SECONDS = 5  # upper bound for anything the sandbox sends in the background


@pytest.fixture(scope="session")
def key_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("alipay-keys"))


@pytest.fixture
def live(app, key_dir):
    """The app served over real HTTP on 127.0.0.1, its PUBLIC_BASE_URL pointing there; in a request."""
    app.config.update(ALIPAY_KEY_DIR=key_dir, SANDBOX_TIME_SCALE=0.001)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    app.config["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{server.port}"
    with app.test_request_context():
        yield app
    deliveries.stop(app)  # posts still owed (e.g. to an unreachable URL) end with the test
    server.shutdown()
    thread.join(timeout=WAIT_SECONDS)
    server.server_close()


class Receiver:
    """The merchant's notify_url: records each notification; answers `fail` for the first
    `failures` posts, then `success`."""

    def __init__(self):
        self.received: list[dict[str, str]] = []
        self.content_types: list[str] = []
        self.failures = 0
        self.url = ""

    def answer(self, _path, headers, body: bytes) -> tuple[int, bytes]:
        self.content_types.append(headers.get("Content-Type", ""))
        self.received.append(dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True)))
        return 200, b"fail" if len(self.received) <= self.failures else b"success"

    def wait_for(self, count: int) -> list[dict[str, str]]:
        deadline = time.monotonic() + WAIT_SECONDS
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.received) >= count, f"{len(self.received)} notifications, expected {count}"
        return list(self.received)

    def of(self, out_trade_no: str) -> list[dict[str, str]]:
        return [params for params in self.received if params["out_trade_no"] == out_trade_no]


@pytest.fixture
def receiver():
    merchant = Receiver()
    with posting_server(merchant.answer) as base:
        merchant.url = f"{base}/payments/alipay/notify"
        yield merchant


def signed_url(number: str, total_cents: int = 8800, notify_url: str = "http://127.0.0.1:9/notify", pay_by=None) -> str:
    order = Order(
        number=number, total_cents=total_cents, currency="HKD", pay_by=pay_by or utcnow() + timedelta(minutes=15)
    )
    return alipay_gateway.payment_url(order, return_url=RETURN_URL, notify_url=notify_url, quit_url=QUIT_URL)


def open_cashier(client, url: str):
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}")


def press_pay(client, page, behaviour: str = "normal", delay: int = 0):
    action = re.search(r'action="(/sandbox/alipay/trades/\d+/pay)"', page.text).group(1)
    return client.post(
        action,
        data={"csrf_token": csrf_token(page.text), "behaviour": behaviour, "delay": str(delay), "currency": "HKD"},
    )


def checkout(client, number: str, notify_url: str, behaviour: str = "normal", delay: int = 0):
    """Open the cashier for a new order and press Pay; the 303 back to the merchant."""
    response = press_pay(client, open_cashier(client, signed_url(number, notify_url=notify_url)), behaviour, delay)
    assert response.status_code == 303, response.text
    return response


def all_sent_before(client, receiver) -> None:
    """A normal payment after the one under test: once its notification is in, whatever the
    earlier payment sends at once has arrived too (it started first, in its own thread)."""
    checkout(client, "RRSENTINEL", receiver.url)
    deadline = time.monotonic() + WAIT_SECONDS
    while not receiver.of("RRSENTINEL") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert receiver.of("RRSENTINEL")


# --- query, close, refund through the SDK -------------------------------------------------------


def test_an_unknown_trade_queries_as_none_and_closing_it_is_nothing_to_do(live):
    assert alipay_gateway.query("RRNEVER") is None
    assert alipay_gateway.close("RRNEVER") is True


def test_an_opened_trade_waits_for_payment_then_closes_for_good(live, client):
    page = open_cashier(client, signed_url("RRWAIT"))
    trade = alipay_gateway.query("RRWAIT")
    assert (trade.trade_status, trade.total_cents, trade.paid_at) == ("WAIT_BUYER_PAY", 8800, None)
    assert re.fullmatch(r"\d{8}22001\d{9}", trade.trade_no)
    assert alipay_gateway.close("RRWAIT") is True
    assert alipay_gateway.close("RRWAIT") is True  # closing twice is still "closed"
    assert alipay_gateway.query("RRWAIT").trade_status == "TRADE_CLOSED"
    assert press_pay(client, page).status_code == 409  # the open cashier can no longer pay


def test_a_paid_trade_queries_as_paid_and_cannot_be_closed(live, client):
    checkout(client, "RRPAID", "http://127.0.0.1:9/notify", behaviour="drop")
    trade = alipay_gateway.query("RRPAID")
    assert trade.trade_status == "TRADE_SUCCESS" and trade.total_cents == 8800
    assert abs(trade.paid_at - utcnow()) < timedelta(minutes=1)  # naive UTC, from UTC+8 send_pay_date
    with pytest.raises(GatewayError, match="TRADE_SUCCESS, not unpaid"):
        alipay_gateway.close("RRPAID")


def test_refunds_are_idempotent_by_request_number_and_never_exceed_the_payment(live, client):
    checkout(client, "RRREFUND", "http://127.0.0.1:9/notify", behaviour="drop")
    first = alipay_gateway.refund("RRREFUND", 3000, "RRREFUND-R1", "changed plans")
    assert (first.fund_change, first.refund_fee_cents) == (True, 3000)
    again = alipay_gateway.refund("RRREFUND", 3000, "RRREFUND-R1", "changed plans")
    assert (again.fund_change, again.refund_fee_cents) == (False, 3000)
    with pytest.raises(GatewayError, match=r"ACQ\.REFUND_AMT_NOT_EQUAL_TOTAL"):
        alipay_gateway.refund("RRREFUND", 5900, "RRREFUND-R2", "too much")
    rest = alipay_gateway.refund("RRREFUND", 5800, "RRREFUND-R3", "the rest")
    assert (rest.fund_change, rest.refund_fee_cents) == (True, 8800)
    assert alipay_gateway.query("RRREFUND").trade_status == "TRADE_CLOSED"  # fully refunded


def test_an_unpaid_or_unknown_trade_cannot_be_refunded(live, client):
    open_cashier(client, signed_url("RRUNPAID"))
    with pytest.raises(GatewayError, match=r"ACQ\.TRADE_STATUS_ERROR"):
        alipay_gateway.refund("RRUNPAID", 100, "RRUNPAID-R1", "x")
    with pytest.raises(GatewayError, match=r"ACQ\.TRADE_NOT_EXIST"):
        alipay_gateway.refund("RRNEVER", 100, "RRNEVER-R1", "x")


def alipay_signed_answer(body: str, key: str) -> dict:
    """The `key` object of a gateway answer, once its signature checks out with the sandbox's key."""
    start = body.index(f'"{key}":') + len(key) + 3
    end = body.rindex(',"sign":"')
    sign = body[end + len(',"sign":"') : -2]
    public = alipay_keys.sandbox_keys(alipay_gateway.current_app.config["ALIPAY_KEY_DIR"]).alipay_public
    assert SignatureUtils.verify_with_rsa(public, body[start:end].encode("utf-8"), sign)
    return json.loads(body[start:end])


@pytest.mark.parametrize(
    "method, key, sub_code",
    [
        ("alipay.trade.query", "alipay_trade_query_response", "isv.invalid-signature"),
        ("alipay.trade.pay.everything", "error_response", "isv.invalid-method"),
    ],
)
def test_an_unsigned_or_unknown_call_gets_a_signed_error(live, method, key, sub_code):
    query = urllib.parse.urlencode(
        {
            "method": method,
            "app_id": alipay_gateway.app_id(),
            "charset": "utf-8",
            "sign_type": "RSA2",
            "version": "1.0",
            "timestamp": alipay_signer.alipay_now(),
        }
    )
    request = urllib.request.Request(
        f"{live.config['PUBLIC_BASE_URL']}/sandbox/alipay/gateway.do?{query}",
        data=b"biz_content=%7B%22out_trade_no%22%3A%22RR1%22%7D",
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=WAIT_SECONDS) as response:
        answer = alipay_signed_answer(response.read().decode("utf-8"), key)
    assert (answer["code"], answer["sub_code"]) == ("40002", sub_code)


# --- the cashier ------------------------------------------------------------------------------


def test_the_cashier_is_a_sandbox_page_with_merchant_amount_pay_and_cancel(live, client):
    page = open_cashier(client, signed_url("RRSHOW"))
    assert page.status_code == 200
    assert "SANDBOX" in page.text and "RoamRenew RRSHOW" in page.text and "HK$88.00" in page.text
    assert f'href="{QUIT_URL}"' in page.text and csrf_token(page.text)
    assert 'value="drop"' in page.text and 'value="reorder"' in page.text


def tamper_amount(url):
    return url.replace("%2288.00%22", "%220.01%22")


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(tamper_amount, id="amount changed"),
        pytest.param(lambda url: url.replace("RRTAMPER", "RRTAMPEX"), id="order number changed"),
        pytest.param(lambda url: re.sub(r"&sign=[^&]+", "", url), id="sign removed"),
        pytest.param(lambda url: re.sub(r"&sign=[^&]+", "&sign=QUFBQQ%3D%3D", url), id="sign replaced"),
        pytest.param(lambda url: url.split("?")[0] + "?", id="nothing at all"),
    ],
)
def test_the_cashier_refuses_a_tampered_url(live, client, tamper):
    url = signed_url("RRTAMPER")
    assert tamper(url) != url
    page = open_cashier(client, tamper(url))
    assert page.status_code == 400 and "Payment request refused" in page.text
    assert alipay_gateway.query("RRTAMPER") is None and alipay_gateway.query("RRTAMPEX") is None


def test_the_cashier_refuses_another_apps_payment(live, client):
    live.config["ALIPAY_APP_ID"] = "2021000000009999"
    url = signed_url("RROTHER")
    live.config["ALIPAY_APP_ID"] = "2021000000000000"
    page = open_cashier(client, url)
    assert page.status_code == 400 and "app_id" in page.text


def test_the_cashier_refuses_a_second_amount_for_the_same_order(live, client):
    assert open_cashier(client, signed_url("RRTWICE", 8800)).status_code == 200
    assert open_cashier(client, signed_url("RRTWICE", 8800)).status_code == 200  # reopened: fine
    page = open_cashier(client, signed_url("RRTWICE", 100))
    assert page.status_code == 400 and "another amount" in page.text
    assert alipay_gateway.query("RRTWICE").total_cents == 8800


def test_the_cashier_refuses_an_expired_payment(live, client):
    page = open_cashier(client, signed_url("RRLATE", pay_by=utcnow() - timedelta(minutes=1)))
    assert page.status_code == 400 and "expired" in page.text


def test_pay_without_the_csrf_token_is_refused(live, client):
    page = open_cashier(client, signed_url("RRCSRF"))
    action = re.search(r'action="([^"]+/pay)"', page.text).group(1)
    assert client.post(action, data={"behaviour": "normal", "delay": "0"}).status_code == 400
    assert alipay_gateway.query("RRCSRF").trade_status == "WAIT_BUYER_PAY"


# --- paying and notifications -------------------------------------------------------------------


def test_paying_sends_the_browser_back_with_signed_return_parameters(live, client):
    response = checkout(client, "RRBACK", "http://127.0.0.1:9/notify", behaviour="drop")
    location = response.headers["Location"]
    assert location.startswith(RETURN_URL + "?")
    params = dict(parse_qsl(urlsplit(location).query))
    assert alipay_gateway.verify_signature(params)
    assert params["method"] == "alipay.trade.wap.pay.return" and params["out_trade_no"] == "RRBACK"
    assert params["total_amount"] == "88.00" and params["seller_id"] == alipay_gateway.seller_id()
    assert params["trade_no"] == alipay_gateway.query("RRBACK").trade_no


def test_paying_posts_a_signed_notification_until_the_merchant_answers_success(live, client, receiver):
    receiver.failures = 1
    checkout(client, "RRNOTE", receiver.url)
    first, second = receiver.wait_for(2)
    assert first == second  # the same notification, retried after `fail`
    assert alipay_gateway.verify_signature(second)
    assert receiver.content_types[0].startswith("application/x-www-form-urlencoded")
    assert {"notify_time", "notify_id", "sign", "gmt_create", "gmt_payment", "buyer_id"} <= second.keys()
    assert {
        k: second[k]
        for k in (
            "notify_type",
            "app_id",
            "seller_id",
            "trade_status",
            "total_amount",
            "receipt_amount",
            "buyer_pay_amount",
            "charset",
            "version",
            "sign_type",
        )
    } == {
        "notify_type": "trade_status_sync",
        "app_id": alipay_gateway.app_id(),
        "seller_id": alipay_gateway.seller_id(),
        "trade_status": "TRADE_SUCCESS",
        "total_amount": "88.00",
        "receipt_amount": "88.00",
        "buyer_pay_amount": "88.00",
        "charset": "utf-8",
        "version": "1.0",
        "sign_type": "RSA2",
    }
    assert second["trade_no"] == alipay_gateway.query("RRNOTE").trade_no
    all_sent_before(client, receiver)
    assert len(receiver.of("RRNOTE")) == 2  # stopped at `success`


def test_a_forged_copy_of_a_sandbox_notification_fails_verification(live, client, receiver):
    checkout(client, "RRFORGE", receiver.url)
    notification = receiver.wait_for(1)[0]
    assert not alipay_gateway.verify_signature({**notification, "total_amount": "0.01"})


def test_drop_sends_nothing(live, client, receiver):
    checkout(client, "RRDROP", receiver.url, behaviour="drop")
    all_sent_before(client, receiver)
    assert receiver.of("RRDROP") == []


def test_repeat_sends_the_same_notification_three_times(live, client, receiver):
    checkout(client, "RRREPEAT", receiver.url, behaviour="repeat")
    receiver.wait_for(3)
    all_sent_before(client, receiver)
    sent = receiver.of("RRREPEAT")
    assert len(sent) == 3 and sent[0] == sent[1] == sent[2]


def test_delay_sends_after_the_browser_is_back(live, client, receiver):
    started = time.monotonic()
    checkout(client, "RRDELAY", receiver.url, behaviour="delay", delay=1)
    assert receiver.received == []  # the browser's return comes first
    receiver.wait_for(1)
    assert time.monotonic() - started >= 1 and receiver.of("RRDELAY")[0]["trade_status"] == "TRADE_SUCCESS"


def test_reorder_sends_a_stale_waiting_notification_before_and_after_the_success(live, client, receiver):
    checkout(client, "RRORDER", receiver.url, behaviour="reorder", delay=0)
    stale, paid, stale_again = receiver.wait_for(3)
    assert [stale["trade_status"], paid["trade_status"], stale_again["trade_status"]] == [
        "WAIT_BUYER_PAY",
        "TRADE_SUCCESS",
        "WAIT_BUYER_PAY",
    ]
    assert stale == stale_again and stale["notify_id"] != paid["notify_id"]
    assert stale["notify_time"] <= paid["notify_time"] and "gmt_payment" not in stale
    assert all(alipay_gateway.verify_signature(params) for params in (stale, paid))


def test_pressing_pay_twice_pays_and_notifies_once(live, client, receiver):
    page = open_cashier(client, signed_url("RRDOUBLE", notify_url=receiver.url))
    assert press_pay(client, page).status_code == 303
    assert press_pay(client, page).status_code == 303  # back to the merchant again, nothing more
    all_sent_before(client, receiver)
    assert len(receiver.of("RRDOUBLE")) == 1


def test_post_notification_replays_a_notification_to_any_url(live, receiver):
    params = alipay_signer.sign_as_alipay({"out_trade_no": "RRREPLAY", "trade_status": "TRADE_SUCCESS"})
    assert alipay_signer.post_notification(receiver.url, params) == "success"
    assert receiver.received == [params]
