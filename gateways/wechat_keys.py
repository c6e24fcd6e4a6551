"""Keys for WeChat Pay API v3: reading configured ones, and the sandbox's generated ones.

The merchant signs requests with its API certificate's private key (apiclient_key.pem, PKCS#8) and
names the certificate's serial; WeChat Pay signs answers and notifications with its platform key,
configured as the "WeChat Pay public key" (with its PUB_KEY_ID_… id) or as a platform certificate
(with its serial). Notifications are encrypted with the 32-byte API v3 key.

In sandbox mode there is no merchant console: one RSA-2048 pair for the merchant and one for the
sandbox "WeChat Pay" are generated on first use into instance/wechat/ (git-ignored), as for Alipay.
"""

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from gateways import alipay_keys

APIV3_KEY_BYTES = 32


def private_key(text: str) -> RSAPrivateKey:
    """An RSA private key from PEM (PKCS#1 or PKCS#8) or a bare base64 body; ValueError otherwise."""
    key = load_pem_private_key(alipay_keys.pkcs1_private_key(text).encode("ascii"), password=None)
    assert isinstance(key, RSAPrivateKey)
    return key


def platform_key(text: str) -> RSAPublicKey:
    """WeChat Pay's platform public key, from a public key (PEM or bare body) or a certificate's PEM."""
    text = text.replace("\r", "").strip()
    key: object
    if "BEGIN CERTIFICATE" in text:
        key = x509.load_pem_x509_certificate(text.encode("ascii")).public_key()
    else:
        key = load_pem_public_key(alipay_keys.public_key_pem(text).encode("ascii"))
    if not isinstance(key, RSAPublicKey):
        raise ValueError("not an RSA key")
    return key


def apiv3_key(text: str) -> str:
    """The API v3 key as WeChat Pay gives it: 32 ASCII characters (the AES-256 key's bytes)."""
    if len(text.encode("utf-8")) != APIV3_KEY_BYTES or not text.isascii():
        raise ValueError(f"it must be {APIV3_KEY_BYTES} ASCII characters, not {len(text)}")
    return text


def _serial(key: RSAPublicKey) -> str:
    """A stable certificate-serial-like id for a generated key (upper-case hex, as WeChat shows them)."""
    der = key.public_numbers().n.to_bytes(256, "big")
    return hashlib.sha256(der).hexdigest()[:40].upper()


@dataclass(frozen=True)
class SandboxKeys:
    """Both sides of the sandbox: the app signs with merchant_private, the sandbox with platform_private."""

    merchant_private: RSAPrivateKey
    merchant_serial: str
    platform_private: RSAPrivateKey
    platform_serial: str
    apiv3_key: str

    @property
    def merchant_public(self) -> RSAPublicKey:
        return self.merchant_private.public_key()

    @property
    def platform_public(self) -> RSAPublicKey:
        return self.platform_private.public_key()


@functools.lru_cache(maxsize=8)
def sandbox_keys(key_dir: str) -> SandboxKeys:
    """The sandbox's two key pairs from `key_dir`, generated on first use, and an API v3 key derived
    from the merchant's (so it needs no file of its own, and is the same for every worker)."""
    merchant_pem = alipay_keys.load_or_create(Path(key_dir) / "merchant_private_key.pem").export_key(pkcs=8)
    platform_pem = alipay_keys.load_or_create(Path(key_dir) / "sandbox_platform_private_key.pem").export_key(pkcs=8)
    merchant, platform = private_key(merchant_pem.decode()), private_key(platform_pem.decode())
    return SandboxKeys(
        merchant_private=merchant,
        merchant_serial=_serial(merchant.public_key()),
        platform_private=platform,
        platform_serial="PUB_KEY_ID_" + _serial(platform.public_key())[:32],
        apiv3_key=hashlib.sha256(b"apiv3" + merchant_pem).hexdigest()[:APIV3_KEY_BYTES],
    )
