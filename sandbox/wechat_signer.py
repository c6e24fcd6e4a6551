"""The sandbox "WeChat Pay": its signatures, its encrypted notifications and their deliveries
(sandbox mode only).

It signs answers and notifications with its own generated platform key and encrypts each
notification's resource with the merchant's API v3 key, exactly as WeChat Pay does, so the app
checks sandbox messages with the same code as real ones. A notification is re-signed at each post
(a fresh Wechatpay-Timestamp), and posted again on WeChat Pay's schedule until the app answers
200 or 204 (sandbox.deliveries keeps them as rows). Tests use notification_body() and post() to
forge, replay or re-encrypt notifications.
"""

import json
import secrets
from datetime import timedelta

from flask import current_app

from gateways import wechat_keys, wechat_signing
from models import utcnow
from sandbox import deliveries

# WeChat Pay's pauses before each retry (16 posts in about 24 hours).
RETRY_GAPS = tuple(
    timedelta(seconds=s)
    for s in (15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600)
)
ACCEPTED = (200, 204)


def keys() -> wechat_keys.SandboxKeys:
    return wechat_keys.sandbox_keys(current_app.config["WECHATPAY_KEY_DIR"])


def signed_headers(body: str, timestamp: int | None = None) -> dict[str, str]:
    """The Wechatpay-* headers of an answer or a notification, signed with the sandbox platform key."""
    sandbox = keys()
    return wechat_signing.sign_body(body, sandbox.platform_private, sandbox.platform_serial, timestamp)


def merchant_of(authorization: str, method: str, path: str, body: str) -> str | None:
    """The mchid that signed this API request with the merchant's key just now, or None."""
    sandbox = keys()
    known = {sandbox.merchant_serial: sandbox.merchant_public}
    return wechat_signing.request_signer(authorization, method, path, body, known)


def notification_body(transaction: dict, apiv3_key: str | None = None) -> str:
    """A TRANSACTION notification's JSON body, its resource encrypted with the API v3 key."""
    paid = transaction.get("trade_state") == "SUCCESS"
    envelope = {
        "id": secrets.token_hex(18),
        "create_time": utcnow().isoformat(timespec="seconds") + "+00:00",
        "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS" if paid else "TRANSACTION." + str(transaction.get("trade_state")),
        "summary": "支付成功" if paid else "sandbox",
        "resource": wechat_signing.encrypt(transaction, apiv3_key or keys().apiv3_key),
    }
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))


def post(notify_url: str, body: str, headers: dict[str, str] | None = None) -> int:
    """POST a notification once, signed now unless `headers` are given; the answer's status."""
    sent = {"Content-Type": "application/json", **(headers if headers is not None else signed_headers(body))}
    return deliveries.post(notify_url, body.encode("utf-8"), sent)[0]


def _deliver(notify_url: str, payload: str) -> bool:
    return post(notify_url, payload) in ACCEPTED


deliveries.register("wechat", deliveries.Schedule(RETRY_GAPS, _deliver))
