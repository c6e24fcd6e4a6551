"""WeChat Pay API v3's signatures and encryption, with wechatpayv3's own helpers.

wechatpayv3's client (Core) is not used: its payment paths are the mainland ones only, its host is
fixed to api.mch.weixin.qq.com, and it checks no timestamp. Its signing, verifying and decrypting
helpers (wechatpayv3.utils) are, with `requests` for the HTTP calls (gateways.wechat_pay).

- A request carries `Authorization: WECHATPAY2-SHA256-RSA2048 mchid=…,serial_no=…,signature=…` over
  "METHOD\\npath?query\\ntimestamp\\nnonce\\nbody\\n", signed with the merchant's key.
- An answer or a notification carries Wechatpay-Timestamp, -Nonce, -Serial and -Signature over
  "timestamp\\nnonce\\nbody\\n", signed with the platform key; a timestamp more than five minutes
  away is a replay.
- A notification's `resource` is AEAD_AES_256_GCM with the API v3 key.
"""

import base64
import json
import re
import secrets
import time
from collections.abc import Mapping

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from wechatpayv3 import utils

SCHEME = "WECHATPAY2-SHA256-RSA2048"
TOLERANCE_SECONDS = 300
_AUTH_FIELD = re.compile(r'(\w+)="([^"]*)"')


class SignatureRefused(Exception):
    """Headers that do not prove WeChat Pay sent this body now; `stale` when only the time is wrong."""

    def __init__(self, reason: str, stale: bool = False) -> None:
        super().__init__(reason)
        self.stale = stale


def authorization(method: str, path: str, body: str, mchid: str, serial: str, key: RSAPrivateKey) -> str:
    """The Authorization header of one API request (path with its query string, body as sent)."""
    return utils.build_authorization(path, method, mchid, serial, key, data=body)


def verify(headers: Mapping[str, str], body: str, key: RSAPublicKey, serial: str, now: float | None = None) -> None:
    """Raise SignatureRefused unless `headers` (names in lower case) sign `body` with `key`, recently."""
    timestamp = headers.get("wechatpay-timestamp", "")
    nonce, signature = headers.get("wechatpay-nonce", ""), headers.get("wechatpay-signature", "")
    if not (timestamp.isascii() and timestamp.isdigit() and nonce and signature):
        raise SignatureRefused("Wechatpay-Timestamp, -Nonce or -Signature missing or malformed")
    if headers.get("wechatpay-serial", "") != serial:
        raise SignatureRefused("signed with a key we do not know (Wechatpay-Serial)")
    if headers.get("wechatpay-signature-type", SCHEME) != SCHEME:
        raise SignatureRefused("unknown Wechatpay-Signature-Type")
    if not utils.rsa_verify(timestamp, nonce, body, signature, key):
        raise SignatureRefused("Wechatpay-Signature does not match")
    # Checked after the signature, so that a forged timestamp is a forgery, and a genuine old one a replay.
    if abs((now if now is not None else time.time()) - int(timestamp)) > TOLERANCE_SECONDS:
        raise SignatureRefused("Wechatpay-Timestamp is more than five minutes away", stale=True)


def decrypt(resource: object, apiv3_key: str) -> dict | None:
    """A notification's resource opened with the API v3 key, as JSON; None when it does not open."""
    if not isinstance(resource, dict) or resource.get("algorithm") != "AEAD_AES_256_GCM":
        return None
    try:
        text = utils.aes_decrypt(
            nonce=resource["nonce"],
            ciphertext=resource["ciphertext"],
            associated_data=resource.get("associated_data") or "",
            apiv3_key=apiv3_key,
        )
        data = json.loads(text) if text is not None else None
    except (KeyError, TypeError, ValueError):  # missing parts, bad base64, nonce of a wrong size, not JSON
        return None
    return data if isinstance(data, dict) else None


# --- the other side: what WeChat Pay does (the sandbox, and tests forging notifications) ---------


def sign_body(body: str, key: RSAPrivateKey, serial: str, timestamp: int | None = None) -> dict[str, str]:
    """The Wechatpay-* headers that sign `body` as WeChat Pay signs answers and notifications."""
    stamp, nonce = str(int(time.time()) if timestamp is None else timestamp), secrets.token_hex(16).upper()
    signature = utils.rsa_sign(key, f"{stamp}\n{nonce}\n{body}\n")
    return {
        "Wechatpay-Timestamp": stamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": signature,
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": SCHEME,
    }


def encrypt(data: dict, apiv3_key: str, associated_data: str = "transaction") -> dict[str, str]:
    """`data` as a notification's AEAD_AES_256_GCM resource."""
    nonce = secrets.token_hex(6)  # 12 characters, as WeChat Pay's
    sealed = AESGCM(apiv3_key.encode("utf-8")).encrypt(
        nonce.encode("utf-8"), json.dumps(data, ensure_ascii=False).encode("utf-8"), associated_data.encode("utf-8")
    )
    return {
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(sealed).decode("ascii"),
        "associated_data": associated_data,
        "original_type": "transaction",
        "nonce": nonce,
    }


def request_signer(header: str, method: str, path: str, body: str, keys: Mapping[str, RSAPublicKey]) -> str | None:
    """The mchid whose key (by serial_no in `keys`) signed this request now, or None."""
    if not header.startswith(SCHEME + " "):
        return None
    fields = dict(_AUTH_FIELD.findall(header))
    key = keys.get(fields.get("serial_no", ""))
    stamp, nonce, signature = fields.get("timestamp", ""), fields.get("nonce_str", ""), fields.get("signature", "")
    if key is None or not stamp.isdigit() or abs(time.time() - int(stamp)) > TOLERANCE_SECONDS:
        return None
    # The request's sign string is the notification's with the method and path in front.
    if not utils.rsa_verify(f"{method}\n{path}\n{stamp}", nonce, body, signature, key):
        return None
    return fields.get("mchid")
