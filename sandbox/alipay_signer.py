"""The sandbox "Alipay": its signatures and its asynchronous notifications (sandbox mode only).

It signs with its own generated private key exactly as Alipay does, so the app checks sandbox
messages with the same code as real ones. Tests use sign_as_alipay() and post_notification() to
forge or replay notifications.

Notification behaviours are chosen on the sandbox cashier (sandbox.deliveries.plan); the "waiting"
notification of `reorder` is a WAIT_BUYER_PAY one, as Alipay sends when "trade created" notifications
are on. The app must never let it undo the payment.
Each delivery is retried on Alipay's schedule until the app answers exactly `success`
(sandbox.deliveries keeps them as rows and posts them).
"""

import json
import logging
import secrets
import urllib.parse
from datetime import datetime, timedelta

from alipay.aop.api.util import SignatureUtils
from flask import current_app

from gateways import alipay_keys
from gateways.alipay_gateway import TIME_FORMAT, UTC8, notification_sign_content, sign_content
from sandbox import deliveries

# Alipay's pauses before each retry, after the previous post went unanswered (8 posts in ~25 hours).
RETRY_GAPS = tuple(timedelta(minutes=m) for m in (4, 10, 10, 60, 120, 360, 900))
log = logging.getLogger(__name__)


def _keys() -> alipay_keys.SandboxKeys:
    return alipay_keys.sandbox_keys(current_app.config["ALIPAY_KEY_DIR"])


def alipay_now() -> str:
    return datetime.now(UTC8).strftime(TIME_FORMAT)


def sign_as_alipay(params: dict[str, str]) -> dict[str, str]:
    """`params` plus sign_type and sign, signed as Alipay signs notifications and returns."""
    params = {key: value for key, value in params.items() if key not in ("sign", "sign_type")}
    sign = SignatureUtils.sign_with_rsa2(_keys().alipay_private, notification_sign_content(params), "utf-8")
    return {**params, "sign_type": "RSA2", "sign": sign}


def sign_response(method: str, content: dict) -> str:
    """A gateway API answer: {"<method>_response": {...}, "sign": "..."}, signed over the exact
    JSON text of the _response object, which is what the SDK's execute() extracts and verifies."""
    text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    sign = SignatureUtils.sign_with_rsa2(_keys().alipay_private, text, "utf-8")
    key = method.replace(".", "_") + "_response" if method else "error_response"
    return f'{{"{key}":{text},"sign":"{sign}"}}'


def app_signature_valid(params: dict[str, str]) -> bool:
    """True if a request was signed with the app's key (the SDK signs everything but `sign`)."""
    try:
        sign = params.get("sign")
        if not sign or params.get("sign_type") != "RSA2":
            return False
        content = sign_content(params, leave_out=("sign",))
        return bool(SignatureUtils.verify_with_rsa(_keys().app_public, content.encode("utf-8"), sign))
    except Exception:  # bad base64, bad signature (verify raises): not signed by the app
        return False


def post_notification(notify_url: str, params: dict[str, str]) -> str:
    """POST `params` form-encoded to `notify_url` once, over real HTTP; the answer's body text.

    An HTTP error status still returns its body; an unreachable URL raises OSError.
    """
    body = urllib.parse.urlencode(params).encode("utf-8")
    return deliveries.post(notify_url, body, {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})[1]


def _deliver(notify_url: str, payload: str) -> bool:
    return post_notification(notify_url, json.loads(payload)).strip() == "success"


deliveries.register("alipay", deliveries.Schedule(RETRY_GAPS, _deliver))


def plan(behaviour: str, paid: dict[str, str], waiting: dict[str, str], delay: float) -> list[tuple[float, str]]:
    """The deliveries for one payment: (seconds to wait first, signed params as JSON), in order."""
    return deliveries.plan(behaviour, json.dumps(paid), json.dumps(waiting), delay)


def new_notify_id() -> str:
    return secrets.token_hex(16)
