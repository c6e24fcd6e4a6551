"""The Alipay adapter: the one module that talks to Alipay, or in sandbox mode to the local gateway.

The rules reach it through the payment interface (gateways.payment_methods), as
gateways.alipay_provider.AlipayProvider; the sandbox and the tests also call these functions
directly. Nobody else sees the SDK. Money crosses this boundary as integer cents; times as naive
UTC. Every failure of the gateway (network, timeout, HTTP status, bad or unsigned answer, error
code) comes out as GatewayError.

Importing this module patches defects of alipay-sdk-python (see alipay_sdk_fixes): the port of the
gateway URL, crashes on HTTP errors and timeouts, and request timestamps that must be in UTC+8.
"""

import base64
import functools
import http.client
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import rsa
from alipay.aop.api.AlipayClientConfig import AlipayClientConfig
from alipay.aop.api.DefaultAlipayClient import DefaultAlipayClient
from alipay.aop.api.domain.AlipayDataDataserviceBillDownloadurlQueryModel import (
    AlipayDataDataserviceBillDownloadurlQueryModel,
)
from alipay.aop.api.domain.AlipayTradeCloseModel import AlipayTradeCloseModel
from alipay.aop.api.domain.AlipayTradeFastpayRefundQueryModel import AlipayTradeFastpayRefundQueryModel
from alipay.aop.api.domain.AlipayTradeQueryModel import AlipayTradeQueryModel
from alipay.aop.api.domain.AlipayTradeRefundModel import AlipayTradeRefundModel
from alipay.aop.api.exception.Exception import RequestException, ResponseException
from alipay.aop.api.request.AlipayDataDataserviceBillDownloadurlQueryRequest import (
    AlipayDataDataserviceBillDownloadurlQueryRequest,
)
from alipay.aop.api.request.AlipayTradeCloseRequest import AlipayTradeCloseRequest
from alipay.aop.api.request.AlipayTradeFastpayRefundQueryRequest import AlipayTradeFastpayRefundQueryRequest
from alipay.aop.api.request.AlipayTradeQueryRequest import AlipayTradeQueryRequest
from alipay.aop.api.request.AlipayTradeRefundRequest import AlipayTradeRefundRequest
from alipay.aop.api.request.AlipayTradeWapPayRequest import AlipayTradeWapPayRequest
from alipay.aop.api.response.AlipayDataDataserviceBillDownloadurlQueryResponse import (
    AlipayDataDataserviceBillDownloadurlQueryResponse,
)
from alipay.aop.api.response.AlipayTradeCloseResponse import AlipayTradeCloseResponse
from alipay.aop.api.response.AlipayTradeFastpayRefundQueryResponse import AlipayTradeFastpayRefundQueryResponse
from alipay.aop.api.response.AlipayTradeQueryResponse import AlipayTradeQueryResponse
from alipay.aop.api.response.AlipayTradeRefundResponse import AlipayTradeRefundResponse
from alipay.aop.api.util import SignatureUtils
from flask import current_app

from gateways import alipay_keys, alipay_sdk_fixes
from gateways.alipay_sdk_fixes import UTC8  # Alipay's clock, whatever the server's zone
from gateways.payment_methods import (  # the interface's types, under the names this module always had
    BillNotReady,
    GatewayError,
    Notification,
    NotificationRefused,
    RefundResult,
    Trade,
)
from models import NotificationOutcome

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
SANDBOX_GATEWAY_PATH = "/sandbox/alipay/gateway.do"
_AMOUNT = re.compile(r"(0|[1-9][0-9]{0,11})\.[0-9]{2}")
_SDK_LOGGER = logging.getLogger("alipay")
# The one place the SDK's logger is quieted (importing this module, as the app does): at INFO it
# logs whole signed URLs.
_SDK_LOGGER.setLevel(logging.WARNING)
log = logging.getLogger(__name__)


# What Alipay answers for a day whose bill is not (yet) there.
BILL_NOT_READY_CODES = ("isp.bill_not_exist", "isp.bill_not_ready")
_BILL_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

alipay_sdk_fixes.install()


# --- money and time at the edge ----------------------------------------------------------------


def cents_to_amount(cents: int) -> str:
    """8800 -> "88.00", the string Alipay wants (a float would go out as 88.0)."""
    if isinstance(cents, bool) or not isinstance(cents, int) or cents < 0:
        raise ValueError(f"not an amount in cents: {cents!r}")
    return f"{cents // 100}.{cents % 100:02d}"


def amount_to_cents(text: object) -> int:
    """ "88.00" -> 8800; anything but digits, a dot and exactly two decimals is a ValueError."""
    if not isinstance(text, str) or not _AMOUNT.fullmatch(text):
        raise ValueError(f"not an Alipay amount: {text!r}")
    whole, part = text.split(".")
    return int(whole) * 100 + int(part)


def to_alipay_time(naive_utc: datetime) -> str:
    return naive_utc.replace(tzinfo=UTC).astimezone(UTC8).strftime(TIME_FORMAT)


def from_alipay_time(text: str) -> datetime:
    """ "2026-11-25 18:30:00" (UTC+8) -> naive UTC."""
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC8).astimezone(UTC).replace(tzinfo=None)


# --- configuration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Settings:
    gateway: str
    app_id: str
    app_private_key: str
    alipay_public_key: str
    timeout: float


@functools.lru_cache(maxsize=4)
def _configured_keys(private_text: str, public_text: str) -> tuple[str, str]:
    """The configured keys as the SDK needs them, converted once per value (raises ValueError, not cached)."""
    return alipay_keys.pkcs1_private_key(private_text), alipay_keys.public_key_pem(public_text)


def _settings() -> _Settings:
    config = current_app.config
    if config["SANDBOX"]:
        keys = alipay_keys.sandbox_keys(config["ALIPAY_KEY_DIR"])
        return _Settings(
            config["PUBLIC_BASE_URL"].rstrip("/") + SANDBOX_GATEWAY_PATH,
            config["ALIPAY_APP_ID"],
            keys.app_private,
            keys.alipay_public,
            config["ALIPAY_TIMEOUT"],
        )
    try:
        private, public = _configured_keys(config["ALIPAY_APP_PRIVATE_KEY"], config["ALIPAY_PUBLIC_KEY"])
    except ValueError as error:
        raise GatewayError(f"ALIPAY_APP_PRIVATE_KEY / ALIPAY_PUBLIC_KEY cannot be used: {error}") from error
    return _Settings(config["ALIPAY_GATEWAY"], config["ALIPAY_APP_ID"], private, public, config["ALIPAY_TIMEOUT"])


def app_id() -> str:
    return current_app.config["ALIPAY_APP_ID"]


def seller_id() -> str:
    return current_app.config["ALIPAY_SELLER_ID"]


def _client() -> DefaultAlipayClient:
    settings = _settings()
    config = AlipayClientConfig()
    config.server_url, config.app_id, config.timeout = settings.gateway, settings.app_id, settings.timeout
    config.app_private_key, config.alipay_public_key = settings.app_private_key, settings.alipay_public_key
    config.sign_type, config.charset = "RSA2", "utf-8"
    return DefaultAlipayClient(config, _SDK_LOGGER)


# --- paying -----------------------------------------------------------------------------------


def _currency_fields(order_currency: str) -> dict[str, str]:
    config = current_app.config
    currency = config["ALIPAY_CURRENCY"]
    if order_currency != currency:
        raise GatewayError(f"order is in {order_currency} but Alipay is configured for {currency}")
    if currency == "CNY":
        return {}
    return {"trans_currency": currency, "settle_currency": config["ALIPAY_SETTLE_CURRENCY"] or currency}


def payment_url(order, *, return_url: str, notify_url: str, quit_url: str) -> str:
    """The signed Alipay mobile-web cashier URL for `order`, to redirect the phone's browser to."""
    model = alipay_sdk_fixes.WapPayModel(_currency_fields(order.currency))
    model.out_trade_no = order.number
    model.total_amount = cents_to_amount(order.total_cents)
    model.subject = f"RoamRenew {order.number}"
    model.product_code = "QUICK_WAP_WAY"
    model.time_expire = to_alipay_time(order.pay_by)
    model.quit_url = quit_url
    request = AlipayTradeWapPayRequest(biz_model=model)
    request.notify_url = notify_url  # on the request, not the model: then they are signed
    request.return_url = return_url
    try:
        return _client().page_execute(request, http_method="GET")
    except RequestException as error:
        raise GatewayError(f"Alipay payment URL could not be signed: {error}") from error


def sign_content(params: dict[str, str], leave_out: tuple[str, ...] = ("sign", "sign_type")) -> str:
    """The text a signature covers, built by the SDK's own helper (sorted k=v&k=v).

    Alipay's notifications and returns are signed over all but sign and sign_type; the SDK signs a
    request over all but sign (leave_out=("sign",)).
    """
    return SignatureUtils.get_sign_content({key: value for key, value in params.items() if key not in leave_out})


def notification_sign_content(params: dict[str, str]) -> str:
    """What Alipay signs in a notification or a return: all but sign and sign_type."""
    return sign_content(params)


@functools.lru_cache(maxsize=4)
def _public_key(pem: str) -> rsa.PublicKey:
    """Alipay's public key parsed (ASN.1 in pure Python: most of a verification's cost), kept per PEM."""
    return rsa.PublicKey.load_pkcs1_openssl_pem(SignatureUtils.fill_public_key_marker(pem))


def _rsa2_verified(content: str, sign: str, pem: str) -> bool:
    """As the SDK's SignatureUtils.verify_with_rsa, with the key parsed once, not per call. Not
    remembered: a notification is read once (rules.payments.payment_events.receive), and a repeat
    of one, minutes later, is checked afresh."""
    try:
        # rsa.verify raises on a bad signature rather than returning False.
        return bool(rsa.verify(content.encode("utf-8"), base64.b64decode(sign), _public_key(pem)))
    except Exception:  # garbage base64, wrong key, tampering: all simply "not signed by Alipay"
        return False


def verify_signature(params: dict[str, str]) -> bool:
    """True only if `params` (a notification or a browser return) carry Alipay's valid RSA2 signature."""
    try:
        params = dict(params)
        sign = params.get("sign")
        if not sign or params.get("sign_type") != "RSA2" or not all(isinstance(v, str) for v in params.values()):
            return False
        return _rsa2_verified(notification_sign_content(params), sign, _settings().alipay_public_key)
    except GatewayError as error:
        log.error("cannot verify Alipay signatures: %s", error)
        return False
    except Exception:  # garbage base64, wrong key, tampering: all simply "not signed by Alipay"
        return False


# --- server-to-server calls -------------------------------------------------------------------


def _call(request, response):
    """Run one gateway API call through the SDK; the parsed, signature-checked response."""
    try:
        text = _client().execute(request)
        response.parse_response_content(text)
    except RequestException as error:
        raise GatewayError(f"Alipay gateway unreachable: {alipay_sdk_fixes.gist(error)}") from error
    except ResponseException as error:
        raise GatewayError(
            "Alipay's answer is unsigned, badly signed or malformed: " + alipay_sdk_fixes.gist(error)
        ) from error
    except (OSError, http.client.HTTPException) as error:  # timeouts and HTTP statuses (alipay_sdk_fixes)
        raise GatewayError(f"Alipay gateway failed: {error}") from error
    except ValueError as error:
        raise GatewayError(f"Alipay's answer is not JSON: {error}") from error
    return response


def _require_success(response, api: str) -> None:
    if response.code != "10000":
        raise GatewayError(
            f"Alipay {api} refused: {response.code} {response.msg} "
            f"{response.sub_code or ''} {response.sub_msg or ''}".strip()
        )


def query(out_trade_no: str) -> Trade | None:
    """The trade as Alipay has it, or None when Alipay has no such trade (never opened the cashier)."""
    model = AlipayTradeQueryModel()
    model.out_trade_no = out_trade_no
    response = _call(AlipayTradeQueryRequest(biz_model=model), AlipayTradeQueryResponse())
    if response.sub_code == "ACQ.TRADE_NOT_EXIST":
        return None
    _require_success(response, "trade.query")
    try:
        paid_at = from_alipay_time(response.send_pay_date) if response.send_pay_date else None
        return Trade(response.trade_status, response.trade_no, amount_to_cents(response.total_amount), paid_at)
    except (TypeError, ValueError) as error:
        raise GatewayError(f"Alipay trade.query answered something unreadable: {error}") from error


def close(out_trade_no: str) -> bool:
    """Close an unpaid trade so it can no longer be paid. True if closed, or if there is none."""
    model = AlipayTradeCloseModel()
    model.out_trade_no = out_trade_no
    response = _call(AlipayTradeCloseRequest(biz_model=model), AlipayTradeCloseResponse())
    if response.code == "10000" or response.sub_code == "ACQ.TRADE_NOT_EXIST":
        return True
    if response.sub_code == "ACQ.TRADE_STATUS_ERROR":
        # Already closed (closing twice is fine) or paid (it is not): only a query can tell.
        trade = query(out_trade_no)
        if trade is None or trade.trade_status == "TRADE_CLOSED":
            return True
        raise GatewayError(f"Alipay trade.close refused: the trade is {trade.trade_status}, not unpaid")
    _require_success(response, "trade.close")
    return True


def refund(
    out_trade_no: str, amount_cents: int, out_request_no: str, reason: str, trade_no: str | None = None
) -> RefundResult:
    """Refund `amount_cents` of a paid trade; repeating the same out_request_no never pays twice.

    With `trade_no`, exactly that Alipay trade is refunded, and the order number is not sent.
    Alipay needs one of the two. With Alipay one out_trade_no names one trade, so a payment by
    "another trade" for an order already paid can only come from a gateway that allows a second
    trade per out_trade_no (or a merchant-side mix-up); refunding it by the order number could then
    hit the good payment, while its trade_no (from the signed notification or query) cannot.
    """
    model = AlipayTradeRefundModel()
    if trade_no:
        model.trade_no = trade_no
    else:
        model.out_trade_no = out_trade_no
    model.refund_amount = cents_to_amount(amount_cents)
    model.out_request_no = out_request_no
    model.refund_reason = reason
    response = _call(AlipayTradeRefundRequest(biz_model=model), AlipayTradeRefundResponse())
    _require_success(response, "trade.refund")
    try:
        return RefundResult(response.fund_change == "Y", amount_to_cents(response.refund_fee))
    except ValueError as error:
        raise GatewayError(f"Alipay trade.refund answered something unreadable: {error}") from error


def bill_download_url(bill_date: str) -> str:
    """The one-time URL of the day's trade bill (`bill_date` yyyy-MM-dd, China time); it works for
    about 30 seconds, so download it at once. BillNotReady before the bill exists."""
    if not _BILL_DATE.fullmatch(bill_date or ""):
        raise ValueError(f"not a yyyy-MM-dd day: {bill_date!r}")
    model = AlipayDataDataserviceBillDownloadurlQueryModel()
    model.bill_type, model.bill_date = "trade", bill_date
    request = AlipayDataDataserviceBillDownloadurlQueryRequest(biz_model=model)
    response = _call(request, AlipayDataDataserviceBillDownloadurlQueryResponse())
    if response.sub_code in BILL_NOT_READY_CODES:
        raise BillNotReady(f"Alipay has no trade bill for {bill_date} yet: {response.sub_msg or response.sub_code}")
    _require_success(response, "bill.downloadurl.query")
    if not response.bill_download_url:
        raise GatewayError("Alipay bill.downloadurl.query answered without a bill_download_url")
    return response.bill_download_url


def query_refund(out_trade_no: str, out_request_no: str, trade_no: str | None = None) -> int | None:
    """The cents refunded by request `out_request_no` of the trade, or None when Alipay has no such
    refund (trade.fastpay.refund.query answers success with no amount for one it does not know)."""
    model = AlipayTradeFastpayRefundQueryModel()
    if trade_no:
        model.trade_no = trade_no
    else:
        model.out_trade_no = out_trade_no
    model.out_request_no = out_request_no
    response = _call(AlipayTradeFastpayRefundQueryRequest(biz_model=model), AlipayTradeFastpayRefundQueryResponse())
    if response.sub_code == "ACQ.TRADE_NOT_EXIST":
        return None
    _require_success(response, "trade.fastpay.refund.query")
    if not response.refund_amount or response.refund_status not in (None, "", "REFUND_SUCCESS"):
        return None
    try:
        return amount_to_cents(response.refund_amount)
    except ValueError as error:
        raise GatewayError(f"Alipay trade.fastpay.refund.query answered something unreadable: {error}") from error


# What a notification must carry to be read at all.
NOTIFICATION_FIELDS = ("out_trade_no", "trade_no", "trade_status", "total_amount", "app_id")


def read_notification(params: dict[str, str]) -> Notification:
    """A signed notification for this merchant, read; NotificationRefused says why not."""
    if any(not params.get(name) for name in NOTIFICATION_FIELDS):
        raise NotificationRefused(NotificationOutcome.MISSING_FIELDS)
    if not verify_signature(params):
        raise NotificationRefused(NotificationOutcome.BAD_SIGNATURE)
    if params["app_id"] != app_id():
        raise NotificationRefused(NotificationOutcome.WRONG_APP_ID)
    if params.get("seller_id") and params["seller_id"] != seller_id():
        raise NotificationRefused(NotificationOutcome.WRONG_SELLER_ID)
    try:
        cents: int | None = amount_to_cents(params["total_amount"])
    except ValueError:
        cents = None  # kept as bad_amount, once the order is known (an unknown order says so first)
    details = {"trade_no": params["trade_no"], "notify_id": params.get("notify_id")}
    return Notification(params["out_trade_no"], params["trade_no"], params["trade_status"], cents, details)
