"""WeChat Pay API v3's client: settings, keys, and one signed, verified call (used by wechat_pay).

A Hong Kong merchant is on WeChat Pay's cross-border ("global") API by default: host
apihk.mch.weixin.qq.com, paths /v3/global/..., HKD amounts. WECHATPAY_API=mainland takes the mainland
paths (/v3/pay/..., /v3/refund/domestic/...), for a merchant contracted in the mainland (CNY). Requests
are signed and answers verified with wechatpayv3's helpers (gateways.wechat_signing); the calls go out
with `requests`. In sandbox mode the host is the local sandbox and the keys are generated.
"""

import functools
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from flask import current_app

from gateways import wechat_bill, wechat_keys, wechat_signing
from gateways.payment_methods import GatewayError

SANDBOX_PATH = "/sandbox/wechat"
# Each API family's paths; "{}" is out_trade_no or out_refund_no. `mchid` says which GETs name the merchant.
PATHS = {
    "global": {
        "h5": "/v3/global/transactions/h5",
        "trade": "/v3/global/transactions/out-trade-no/{}",
        "close": "/v3/global/transactions/out-trade-no/{}/close",
        "refund": "/v3/global/refunds",
        "refund_query": "/v3/global/refunds/out-refund-no/{}",
        "bill": "/v3/global/bill/tradebill",
        "mchid": ("trade", "refund_query", "bill"),
    },
    "mainland": {
        "h5": "/v3/pay/transactions/h5",
        "trade": "/v3/pay/transactions/out-trade-no/{}",
        "close": "/v3/pay/transactions/out-trade-no/{}/close",
        "refund": "/v3/refund/domestic/refunds",
        "refund_query": "/v3/refund/domestic/refunds/{}",
        "bill": "/v3/bill/tradebill",
        "mchid": ("trade",),
    },
}


@dataclass(frozen=True)
class Settings:
    host: str
    paths: dict
    currency: str
    mchid: str
    appid: str
    apiv3_key: str
    private_key: RSAPrivateKey
    serial: str  # the merchant's API certificate serial
    platform_key: RSAPublicKey
    platform_serial: str  # the WeChat Pay public key's id, or the platform certificate's serial
    timeout: float


@functools.lru_cache(maxsize=4)
def _configured_keys(private: str, platform: str, apiv3: str) -> tuple[RSAPrivateKey, RSAPublicKey, str]:
    return wechat_keys.private_key(private), wechat_keys.platform_key(platform), wechat_keys.apiv3_key(apiv3)


def settings() -> Settings:
    config = current_app.config
    paths = PATHS[config["WECHATPAY_API"]]
    common = {"paths": paths, "currency": config["WECHATPAY_CURRENCY"], "timeout": config["WECHATPAY_TIMEOUT"]}
    common.update(mchid=config["WECHATPAY_MCHID"], appid=config["WECHATPAY_APPID"])
    if config["SANDBOX"]:
        keys = wechat_keys.sandbox_keys(config["WECHATPAY_KEY_DIR"])
        host = config["PUBLIC_BASE_URL"].rstrip("/") + SANDBOX_PATH
        return Settings(host=host, apiv3_key=keys.apiv3_key, private_key=keys.merchant_private,
                        serial=keys.merchant_serial, platform_key=keys.platform_public,
                        platform_serial=keys.platform_serial, **common)  # fmt: skip
    try:
        private, platform, apiv3 = _configured_keys(
            config["WECHATPAY_PRIVATE_KEY"], config["WECHATPAY_PLATFORM_PUBLIC_KEY"], config["WECHATPAY_APIV3_KEY"]
        )
    except ValueError as error:
        raise GatewayError(f"the WeChat Pay keys cannot be used: {error}") from error
    return Settings(host=config["WECHATPAY_HOST"].rstrip("/"), apiv3_key=apiv3, private_key=private,
                    serial=config["WECHATPAY_CERT_SERIAL"], platform_key=platform,
                    platform_serial=config["WECHATPAY_PLATFORM_SERIAL"], **common)  # fmt: skip


# --- money and time at the edge ----------------------------------------------------------------


def from_wechat_time(text: object) -> datetime | None:
    """ "2026-12-03T18:30:00+08:00" -> naive UTC; None for anything else."""
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else None


def to_wechat_time(naive_utc: datetime) -> str:
    return naive_utc.replace(tzinfo=UTC).astimezone(wechat_bill.CHINA).isoformat(timespec="seconds")


def cents_of(amount: object, field: str, currency: str) -> int | None:
    """`amount[field]` in cents, or None when it is not a whole number of cents in our currency."""
    if not isinstance(amount, dict) or amount.get("currency", currency) != currency:
        return None
    value = amount.get(field)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


# --- one API call ------------------------------------------------------------------------------


def call(method: str, path: str, body: dict | None = None, query: dict | None = None) -> tuple[int, dict]:
    """One signed request; (status, JSON answer). A 2xx answer must carry WeChat Pay's signature."""
    conf = settings()
    if query:
        path += "?" + urlencode(query)
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":")) if body is not None else ""
    headers = {
        "Authorization": wechat_signing.authorization(method, path, text, conf.mchid, conf.serial, conf.private_key),
        "Accept": "application/json",
        "Content-Type": "application/json",
    }
    try:
        response = requests.request(
            method, conf.host + path, data=text.encode("utf-8"), headers=headers, timeout=conf.timeout
        )
    except requests.RequestException as error:
        raise GatewayError(f"WeChat Pay unreachable: {type(error).__name__}") from error
    return response.status_code, _read(response, conf)


def _read(response: requests.Response, conf: Settings) -> dict:
    if response.ok:
        lower = {name.lower(): value for name, value in response.headers.items()}
        try:
            wechat_signing.verify(lower, response.text, conf.platform_key, conf.platform_serial)
        except wechat_signing.SignatureRefused as refused:
            raise GatewayError(f"WeChat Pay's answer is not signed by it: {refused}") from None
    if not response.content:
        return {}
    try:
        data = response.json()
    except ValueError:
        raise GatewayError(f"WeChat Pay answered HTTP {response.status_code} with something not JSON") from None
    if not isinstance(data, dict):
        raise GatewayError(f"WeChat Pay answered HTTP {response.status_code} with something not a JSON object")
    return data


def failed(api: str, status: int, data: dict) -> GatewayError:
    return GatewayError(f"WeChat Pay {api} failed: HTTP {status} {data.get('code', '')} {data.get('message', '')}")
