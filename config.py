"""Settings from the environment, with embedded defaults for a developer's machine.

Development runs on SQLite, the local Alipay sandbox gateway, the simulated carrier and the SMS
outbox. Production (ROAMRENEW_ENV=production) refuses to start without a real SECRET_KEY and never
enables a sandbox.
"""

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import limits


class ConfigError(RuntimeError):
    """The configuration cannot be used as it is."""


def _instance_secret(instance_path: str) -> str:
    """A development secret generated once into instance/, never committed."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _sqlalchemy_url(url: str) -> str:
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants an explicit driver.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _positive_int(env: dict, name: str, default: int) -> int:
    text = env.get(name, str(default))
    if not text.strip().isdigit() or int(text) < 1:
        raise ConfigError(f"{name} must be a whole number of at least 1, not {text!r}")
    return int(text)


def load(instance_path: str, overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from the environment and `overrides` (tests)."""
    env = {**os.environ, **{k: str(v) for k, v in (overrides or {}).items() if isinstance(v, str)}}
    production = env.get("ROAMRENEW_ENV") == "production"
    secret = env.get("SECRET_KEY")
    if production and (not secret or len(secret) < 32):
        raise ConfigError("SECRET_KEY must be set to at least 32 random characters in production")
    alipay_app_id = env.get("ALIPAY_APP_ID")
    sandbox = not alipay_app_id
    if production and sandbox:
        raise ConfigError("production needs the real Alipay settings (ALIPAY_APP_ID, keys, gateway)")
    if production and not (env.get("ALIPAY_APP_PRIVATE_KEY") and env.get("ALIPAY_PUBLIC_KEY")):
        raise ConfigError("production needs ALIPAY_APP_PRIVATE_KEY and ALIPAY_PUBLIC_KEY")
    carrier = env.get("CARRIER", "simulated")
    if carrier not in ("simulated", "manual"):
        raise ConfigError(f"CARRIER must be simulated or manual, not {carrier!r}")
    default_db = "sqlite:///" + os.path.join(instance_path, "roamrenew.db")
    config = {
        "PRODUCTION": production,
        "SANDBOX": sandbox,
        "SECRET_KEY": secret or _instance_secret(instance_path),
        "SQLALCHEMY_DATABASE_URI": _sqlalchemy_url(env.get("DATABASE_URL", default_db)),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "MAX_CONTENT_LENGTH": 64 * 1024,
        "MAX_FORM_MEMORY_SIZE": 64 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session instead, which rotates on sign-in
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_ENABLED": True,  # explicit: the one Limiter object otherwise keeps the last app's value
        # Codes texted (sign-in and card codes), counted in the database: exact across app servers.
        "SIGNIN_IP_LIMIT": env.get("SIGNIN_IP_LIMIT", "30 per hour"),
        "SIGNIN_PHONE_LIMIT": env.get("SIGNIN_PHONE_LIMIT", "5 per hour"),
        # Per app server (Flask-Limiter): bursts of code requests, and code guesses per address.
        "SIGNIN_BURST_LIMIT": env.get("SIGNIN_BURST_LIMIT", "10 per minute"),
        "VERIFY_IP_LIMIT": env.get("VERIFY_IP_LIMIT", "60 per hour"),
        # Reverse proxies in front that append to X-Forwarded-For (0: none, the peer is the client).
        "TRUSTED_PROXY_COUNT": int(env.get("TRUSTED_PROXY_COUNT", "0")),
        "SESSION_IDLE_DAYS": int(env.get("SESSION_IDLE_DAYS", "14")),
        "SESSION_MAX_DAYS": int(env.get("SESSION_MAX_DAYS", "30")),
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Hong_Kong",
        "PAGE_CACHE_SECONDS": int(env.get("PAGE_CACHE_SECONDS", "30")),
        "PUBLIC_BASE_URL": env.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000"),
        # How long a traveller has to pay an order; also the trade's time_expire at Alipay.
        "PAY_WITHIN_MINUTES": _positive_int(env, "PAY_WITHIN_MINUTES", 15),
        # simulated: packs recorded here; manual: paid orders wait for staff to add the data by hand.
        "CARRIER": carrier,
        "ALIPAY_APP_ID": alipay_app_id or "2021000000000000",
        "ALIPAY_SELLER_ID": env.get("ALIPAY_SELLER_ID", "2088000000000000"),
        # Ignored in sandbox mode: the gateway is then PUBLIC_BASE_URL + /sandbox/alipay/gateway.do.
        # Hong Kong merchants contracted on Alipay's global platform set its host here.
        "ALIPAY_GATEWAY": env.get("ALIPAY_GATEWAY", "https://openapi.alipay.com/gateway.do"),
        # Contents (PEM or the bare base64 body from Alipay's console); generated in sandbox mode.
        "ALIPAY_APP_PRIVATE_KEY": env.get("ALIPAY_APP_PRIVATE_KEY", ""),
        "ALIPAY_PUBLIC_KEY": env.get("ALIPAY_PUBLIC_KEY", ""),
        # Anything but CNY goes out as trans_currency / settle_currency (global merchants).
        "ALIPAY_CURRENCY": env.get("ALIPAY_CURRENCY", "HKD"),
        "ALIPAY_SETTLE_CURRENCY": env.get("ALIPAY_SETTLE_CURRENCY", ""),  # empty: ALIPAY_CURRENCY
        "ALIPAY_TIMEOUT": float(env.get("ALIPAY_TIMEOUT", "15")),  # seconds, per gateway call
        "ALIPAY_KEY_DIR": env.get("ALIPAY_KEY_DIR", os.path.join(instance_path, "alipay")),
        # The sandbox gateway's notification retries: tries, and the first pause (doubling).
        "ALIPAY_SANDBOX_NOTIFY_TRIES": int(env.get("ALIPAY_SANDBOX_NOTIFY_TRIES", "5")),
        "ALIPAY_SANDBOX_NOTIFY_BACKOFF": float(env.get("ALIPAY_SANDBOX_NOTIFY_BACKOFF", "1")),
        # The sandbox gateway's bill for a day is ready this many hours after that day ends (UTC+8).
        "ALIPAY_SANDBOX_BILL_DELAY_HOURS": float(env.get("ALIPAY_SANDBOX_BILL_DELAY_HOURS", "0")),
    }
    config.update(overrides or {})
    for name in ("SIGNIN_IP_LIMIT", "SIGNIN_PHONE_LIMIT", "SIGNIN_BURST_LIMIT", "VERIFY_IP_LIMIT"):
        try:
            limits.parse(str(config[name]))
        except ValueError:
            raise ConfigError(f"{name} must read like '5 per hour', not {config[name]!r}") from None
    # Confirming an order redirects the form's POST on to the gateway: CSP form-action must allow it.
    gateway = urlsplit(str(config["ALIPAY_GATEWAY"]))
    config["ALIPAY_FORM_ORIGIN"] = "" if config["SANDBOX"] else f"{gateway.scheme}://{gateway.netloc}"
    return config
