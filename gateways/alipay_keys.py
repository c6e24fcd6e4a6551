"""RSA keys for Alipay: normalising configured keys, and the sandbox's generated key pairs.

The SDK signs with the `rsa` package, which reads only PKCS#1 private keys ("BEGIN RSA PRIVATE
KEY") and breaks on CRLF line ends. Keys pasted from Alipay's console come as bare base64 bodies,
often PKCS#8, so every configured key goes through here first.

In sandbox mode there is no Alipay console: one RSA-2048 pair for the application and one for the
sandbox "Alipay" are generated on first use into instance/alipay/ (git-ignored).
"""

import base64
import contextlib
import functools
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from Crypto.PublicKey import RSA

KEY_BITS = 2048


@dataclass(frozen=True)
class SandboxKeys:
    """Both sides of the sandbox: the app signs with app_private, the sandbox Alipay with alipay_private."""

    app_private: str
    app_public: str
    alipay_private: str
    alipay_public: str


def _import(text: str) -> RSA.RsaKey:
    text = text.replace("\r", "").strip()
    if not text:
        raise ValueError("the key is empty")
    if "-----BEGIN" in text:
        return RSA.import_key(text)
    # A bare body from Alipay's console: base64 of DER, PKCS#1 or PKCS#8 / SubjectPublicKeyInfo.
    return RSA.import_key(base64.b64decode("".join(text.split()), validate=True))


def pkcs1_private_key(text: str) -> str:
    """Any RSA private key (PEM or bare body, PKCS#1 or PKCS#8) as the PKCS#1 PEM the SDK needs."""
    key = _import(text)
    if not key.has_private():
        raise ValueError("this is a public key, not a private key")
    return key.export_key(format="PEM", pkcs=1).decode("ascii")


def public_key_pem(text: str) -> str:
    """An RSA public key (PEM or bare body, or the public half of a private key) as SPKI PEM."""
    return _import(text).public_key().export_key(format="PEM").decode("ascii")


def _load_or_create(path: Path) -> RSA.RsaKey:
    """The private key at `path`, generated first if missing; safe when processes race for it."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        pem = RSA.generate(KEY_BITS).export_key(format="PEM", pkcs=1)
        # Written whole to a private temp file, then hard-linked into place: link() never
        # replaces an existing file, so the first process wins and the others read its key
        # (os.replace would swap a key out from under a process that already loaded it).
        # mkstemp creates the file 0600, so the key is never readable by others, even for a moment.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pem")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(pem)
                file.flush()
                os.fsync(file.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    return RSA.import_key(path.read_bytes())


load_or_create = _load_or_create  # the WeChat Pay sandbox keeps its key pairs the same way


@functools.lru_cache(maxsize=8)
def sandbox_keys(key_dir: str) -> SandboxKeys:
    """The sandbox's two key pairs from `key_dir`, generated on first use."""
    app = _load_or_create(Path(key_dir) / "app_private_key.pem")
    alipay = _load_or_create(Path(key_dir) / "sandbox_alipay_private_key.pem")
    return SandboxKeys(
        app_private=app.export_key(format="PEM", pkcs=1).decode("ascii"),
        app_public=app.public_key().export_key(format="PEM").decode("ascii"),
        alipay_private=alipay.export_key(format="PEM", pkcs=1).decode("ascii"),
        alipay_public=alipay.public_key().export_key(format="PEM").decode("ascii"),
    )
