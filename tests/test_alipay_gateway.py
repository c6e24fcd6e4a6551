"""The Alipay adapter: real RSA keys, the real SDK signing and verifying, real sockets."""

import base64
import contextlib
import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from alipay.aop.api.util import SignatureUtils, WebUtils
from Crypto.PublicKey import RSA
from http_stub import posting_server

from gateways import alipay_gateway, alipay_keys
from gateways.alipay_gateway import UTC8, GatewayError
from models import Order
from sandbox import alipay_signer

PAY_BY = datetime(2026, 11, 25, 10, 30, 0)  # naive UTC: 18:30 in UTC+8


@pytest.fixture(scope="session")
def key_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("alipay-keys"))


@pytest.fixture
def gateway(app, key_dir):
    """The app in sandbox mode, inside a request, with keys of its own."""
    app.config["ALIPAY_KEY_DIR"] = key_dir
    with app.test_request_context():
        yield app


@pytest.fixture
def server_zone(monkeypatch):
    """Run the process in another time zone (TZ + tzset), put back afterwards."""

    def set_zone(name: str):
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield set_zone
    monkeypatch.undo()
    time.tzset()


def an_order(total_cents=8800, currency="HKD", pay_by=PAY_BY) -> Order:
    """A transient order: payment_url reads only its number, amount, currency and deadline."""
    return Order(number="RR7K3M9Q2X", total_cents=total_cents, currency=currency, pay_by=pay_by)


def pay_params(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def signed_by(public_key: str, params: dict[str, str], content: str) -> bool:
    try:
        return SignatureUtils.verify_with_rsa(public_key, content.encode("utf-8"), params["sign"])
    except Exception:
        return False


def app_signed(params: dict[str, str], key_dir: str) -> bool:
    """Checked as Alipay checks a request: everything but `sign`, sorted, with the app's public key."""
    content = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign")
    return signed_by(alipay_keys.sandbox_keys(key_dir).app_public, params, content)


def the_url() -> str:
    return alipay_gateway.payment_url(
        an_order(),
        return_url="http://127.0.0.1:8000/payments/alipay/return",
        notify_url="http://127.0.0.1:8000/payments/alipay/notify",
        quit_url="http://127.0.0.1:8000/orders/RR7K3M9Q2X",
    )


# --- the payment URL ----------------------------------------------------------------------------


def test_payment_url_goes_to_the_sandbox_gateway_signed_by_the_app_with_the_order_in_it(gateway, key_dir):
    url = the_url()
    assert url.startswith("http://127.0.0.1:8000/sandbox/alipay/gateway.do?")
    params = pay_params(url)
    assert app_signed(params, key_dir)
    assert params["method"] == "alipay.trade.wap.pay" and params["app_id"] == alipay_gateway.app_id()
    assert params["sign_type"] == "RSA2" and params["charset"] == "utf-8"
    assert params["notify_url"] == "http://127.0.0.1:8000/payments/alipay/notify"  # on the request: signed
    assert params["return_url"] == "http://127.0.0.1:8000/payments/alipay/return"
    biz = json.loads(params["biz_content"])
    assert biz == {
        "out_trade_no": "RR7K3M9Q2X",
        "total_amount": "88.00",
        "subject": "RoamRenew RR7K3M9Q2X",
        "product_code": "QUICK_WAP_WAY",
        "time_expire": "2026-11-25 18:30:00",
        "quit_url": "http://127.0.0.1:8000/orders/RR7K3M9Q2X",
        "trans_currency": "HKD",
        "settle_currency": "HKD",
    }


def test_a_changed_payment_url_no_longer_matches_the_app_signature(gateway, key_dir):
    params = pay_params(the_url())
    params["biz_content"] = params["biz_content"].replace('"88.00"', '"0.01"')
    assert not app_signed(params, key_dir)


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles", "Asia/Kathmandu"])
def test_time_expire_and_timestamp_are_utc8_whatever_the_servers_zone(gateway, server_zone, zone):
    server_zone(zone)
    params = pay_params(the_url())
    assert json.loads(params["biz_content"])["time_expire"] == "2026-11-25 18:30:00"
    stamped = datetime.strptime(params["timestamp"], "%Y-%m-%d %H:%M:%S")
    assert abs(stamped - datetime.now(UTC8).replace(tzinfo=None)) < timedelta(minutes=1)


def test_cny_merchants_send_no_currency_fields_and_a_mismatched_order_is_refused(gateway):
    gateway.config["ALIPAY_CURRENCY"] = "CNY"
    biz = json.loads(
        pay_params(
            alipay_gateway.payment_url(
                an_order(currency="CNY"), return_url="http://r", notify_url="http://n", quit_url="http://q"
            )
        )["biz_content"]
    )
    assert "trans_currency" not in biz and "settle_currency" not in biz
    with pytest.raises(GatewayError, match="HKD"):
        alipay_gateway.payment_url(
            an_order(currency="HKD"), return_url="http://r", notify_url="http://n", quit_url="http://q"
        )


def test_outside_the_sandbox_the_configured_gateway_and_console_keys_are_used(app_with):
    app_key, alipay_key = RSA.generate(1024), RSA.generate(1024)  # small: only the formats matter here
    # As pasted from Alipay's console: bare base64 bodies, the private key in PKCS#8, CRLF line ends.
    pkcs8_body = base64.b64encode(app_key.export_key(format="DER", pkcs=8)).decode()
    app = app_with(
        ALIPAY_APP_ID="2021004100000001",
        ALIPAY_GATEWAY="https://openapi.alipay.com/gateway.do",
        ALIPAY_APP_PRIVATE_KEY=pkcs8_body[:64] + "\r\n" + pkcs8_body[64:],
        ALIPAY_PUBLIC_KEY=base64.b64encode(alipay_key.public_key().export_key(format="DER")).decode(),
    )
    assert not app.config["SANDBOX"]
    with app.test_request_context():
        url = the_url()
    params = pay_params(url)
    assert url.startswith("https://openapi.alipay.com/gateway.do?") and params["app_id"] == "2021004100000001"
    content = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign")
    assert signed_by(app_key.public_key().export_key().decode(), params, content)


# --- verifying notifications and returns ------------------------------------------------------


def a_notification(**changes) -> dict[str, str]:
    params = {
        "notify_time": "2026-11-25 18:20:00",
        "notify_type": "trade_status_sync",
        "notify_id": "ab12",
        "app_id": alipay_gateway.app_id(),
        "charset": "utf-8",
        "version": "1.0",
        "trade_no": "2026112522001400001234",
        "out_trade_no": "RR7K3M9Q2X",
        "seller_id": alipay_gateway.seller_id(),
        "buyer_id": "2088102177846880",
        "trade_status": "TRADE_SUCCESS",
        "total_amount": "88.00",
        "receipt_amount": "88.00",
        "buyer_pay_amount": "88.00",
        "subject": "RoamRenew 跨境漫游",
        "gmt_create": "2026-11-25 18:19:00",
        "gmt_payment": "2026-11-25 18:19:58",
        "passback_params": "",
    }
    return {**params, **changes}


def test_a_notification_signed_by_alipay_is_accepted(gateway):
    assert alipay_gateway.verify_signature(alipay_signer.sign_as_alipay(a_notification()))


def signed_with_the_app_key(params):
    keys = alipay_keys.sandbox_keys(alipay_gateway.current_app.config["ALIPAY_KEY_DIR"])
    content = alipay_gateway.notification_sign_content(params)
    return {**params, "sign_type": "RSA2", "sign": SignatureUtils.sign_with_rsa2(keys.app_private, content, "utf-8")}


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda p: {**p, "total_amount": "0.01"}, id="amount changed after signing"),
        pytest.param(lambda p: {**p, "trade_status": "TRADE_FINISHED"}, id="status changed after signing"),
        pytest.param(lambda p: signed_with_the_app_key(a_notification()), id="signed with another key"),
        pytest.param(lambda p: {k: v for k, v in p.items() if k != "sign"}, id="no sign"),
        pytest.param(lambda p: {**p, "sign": ""}, id="empty sign"),
        pytest.param(lambda p: {**p, "sign": "not base64 at all!"}, id="garbage sign"),
        pytest.param(lambda p: {**p, "sign": "QUFBQQ=="}, id="short sign"),
        pytest.param(lambda p: {**p, "sign_type": "RSA"}, id="downgraded sign_type"),
        pytest.param(lambda p: {k: v for k, v in p.items() if k != "sign_type"}, id="no sign_type"),
        pytest.param(lambda p: {**p, "notify_id": None}, id="a value that is not text"),
    ],
)
def test_a_forged_or_broken_notification_is_rejected_without_raising(gateway, forge):
    assert alipay_gateway.verify_signature(forge(alipay_signer.sign_as_alipay(a_notification()))) is False


# --- money ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cents, text", [(8800, "88.00"), (1, "0.01"), (0, "0.00"), (10, "0.10"), (123456789, "1234567.89")]
)
def test_cents_and_alipay_amounts_convert_both_ways(cents, text):
    assert alipay_gateway.cents_to_amount(cents) == text and alipay_gateway.amount_to_cents(text) == cents


@pytest.mark.parametrize(
    "text",
    [
        "88",
        "88.0",
        "88.000",
        "-1.00",
        "+1.00",
        " 88.00",
        "88.00\n",
        "88,00",
        "1e3",
        "08.00",
        ".50",
        "٨٨.٠٠",
        "",
        None,
        88.0,
        8800,
    ],
)
def test_a_malformed_amount_is_a_value_error(text):
    with pytest.raises(ValueError):
        alipay_gateway.amount_to_cents(text)


@pytest.mark.parametrize("cents", [-1, 1.5, True, "8800", None])
def test_only_whole_non_negative_cents_can_be_formatted(cents):
    with pytest.raises(ValueError):
        alipay_gateway.cents_to_amount(cents)


# --- keys -------------------------------------------------------------------------------------


def test_keys_generated_by_processes_starting_together_are_one_and_the_same(tmp_path, monkeypatch):
    monkeypatch.setattr(alipay_keys, "KEY_BITS", 1024)  # the race is the same, the primes come faster
    path = tmp_path / "alipay" / "app_private_key.pem"
    with ThreadPoolExecutor(max_workers=4) as pool:
        keys = list(pool.map(lambda _: alipay_keys._load_or_create(path), range(4)))
    assert len({key.n for key in keys}) == 1
    assert path.read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")  # PKCS#1, as the SDK needs
    assert [p.name for p in path.parent.iterdir()] == ["app_private_key.pem"]  # no temp files left
    assert path.stat().st_mode & 0o077 == 0


def test_sandbox_keys_are_two_matching_pairs(key_dir):
    keys = alipay_keys.sandbox_keys(key_dir)
    signature = SignatureUtils.sign_with_rsa2(keys.alipay_private, "a=1", "utf-8")
    assert SignatureUtils.verify_with_rsa(keys.alipay_public, b"a=1", signature)
    assert keys.app_public != keys.alipay_public


# --- the SDK's connection, fixed --------------------------------------------------------------


@pytest.mark.parametrize(
    "url, host, port, target",
    [
        ("http://127.0.0.1:8000/sandbox/alipay/gateway.do", "127.0.0.1", 8000, "/sandbox/alipay/gateway.do?a=1"),
        ("http://localhost/gateway.do", "localhost", 80, "/gateway.do?a=1"),
        ("https://openapi.alipay.com/gateway.do", "openapi.alipay.com", 443, "/gateway.do?a=1"),
        ("https://example.test:8443/gateway.do", "example.test", 8443, "/gateway.do?a=1"),
    ],
)
def test_the_sdks_connection_keeps_the_port_of_the_url(url, host, port, target):
    request_target, connection = WebUtils.get_http_connection(url, "a=1", 5)
    assert (connection.host, connection.port, request_target) == (host, port, target)


@contextlib.contextmanager
def local_server(status: int = 200, body: bytes = b"ok"):
    """An HTTP server on 127.0.0.1 that records request paths and answers `status`, `body`."""
    paths = []

    def answer(path, _headers, _body):
        paths.append(path)
        return status, body

    with posting_server(answer) as base:
        yield base, paths


def test_the_sdk_posts_to_a_gateway_on_a_non_standard_port():
    with local_server(body=b"answer") as (base, paths):
        answer = WebUtils.do_post(base + "/gateway.do", "method=x", {}, {"biz_content": "{}"}, "utf-8", 5)
    assert answer == b"answer" and paths == ["/gateway.do?method=x"]


def gateway_at(app, base: str, timeout: float = 5) -> None:
    app.config.update(PUBLIC_BASE_URL=base, ALIPAY_TIMEOUT=timeout)


def test_a_refused_connection_is_a_gateway_error(gateway):
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gateway_at(gateway, f"http://127.0.0.1:{port}")
    with pytest.raises(GatewayError, match="refused"):
        alipay_gateway.query("RR7K3M9Q2X")


def test_a_gateway_that_never_answers_is_a_gateway_error_after_the_timeout(gateway):
    with socket.socket() as silent:  # listens (the kernel completes the handshake) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        gateway_at(gateway, f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.3)
        started = time.monotonic()
        with pytest.raises(GatewayError, match=r"within 0\.3 s"):
            alipay_gateway.close("RR7K3M9Q2X")
        assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    "status, body, message",
    [
        (502, b"Bad Gateway", "HTTP 502"),
        (200, b'{"alipay_trade_query_response":{"code":"10000","msg":"Success"}}', "unsigned"),
        (200, b'{"alipay_trade_query_response":{"code":"10000","msg":"Success"},"sign":"QUFBQQ=="}', "badly signed"),
        (200, b"<html>maintenance</html>", "malformed"),
    ],
)
def test_an_error_status_or_an_unsigned_answer_is_a_gateway_error(gateway, status, body, message):
    with local_server(status, body) as (base, _):
        gateway_at(gateway, base)
        with pytest.raises(GatewayError, match=message):
            alipay_gateway.query("RR7K3M9Q2X")
