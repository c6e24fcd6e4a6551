"""Settings from the environment, with embedded defaults for a developer's machine.

Development runs on SQLite, the local Alipay sandbox gateway, the simulated carrier and the SMS
outbox. Production (ROAMRENEW_ENV=production) refuses to start without a real SECRET_KEY and never
enables a sandbox.
"""

import contextlib
import itertools
import os
import secrets
from datetime import date
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import limits


class ConfigError(RuntimeError):
    """The configuration cannot be used as it is. str() is the one line printed at start."""

    def __init__(self, problem: str):
        super().__init__(f"RoamRenew cannot start: {problem}")


def _instance_secret(instance_path: str) -> str:
    """A development secret generated once into instance/, never committed.

    Written to a temp file created 0600 (never readable by others, not even for a moment), then
    hard-linked into place: link() never replaces a file, so of two processes starting at once
    the first wins and both use its secret.
    """
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f".secret_key-{os.getpid()}-{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_hex(32))
                file.flush()
                os.fsync(file.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    return path.read_text().strip()


def secure_sqlite_file(uri: str, instance_path: str) -> None:
    """Create a SQLite database file 0600 before SQLite does (it would use 0644), or narrow it to 0600.

    SQLite gives its journal and WAL files the database file's mode, so they follow.
    """
    prefix = "sqlite:///"
    if not uri.startswith(prefix) or uri == prefix or ":memory:" in uri or "mode=memory" in uri:
        return
    # Flask-SQLAlchemy resolves a relative SQLite path against the instance folder.
    path = os.path.join(instance_path, uri[len(prefix) :].split("?", 1)[0])
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        with contextlib.suppress(PermissionError):  # someone else's file: leave it to its owner
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, 0o600)
    except FileNotFoundError:
        pass  # no such directory: SQLite will say so on first use


def _sqlalchemy_url(url: str) -> str:
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants an explicit driver.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


SITE_ADDRESS_FILE = "site_address"  # written by scripts/serve.sh while `make run` serves the site


def _public_base_url(env: dict[str, str], instance_path: str) -> str:
    """The site's own address: PUBLIC_BASE_URL if set, else http://127.0.0.1:PORT, the way `make run`
    serves it. A command run from another shell (no PORT there) reads the address the running
    `make run` left in instance/, so `flask reconcile` reaches the sandbox gateway on any port."""
    if env.get("PUBLIC_BASE_URL"):
        return env["PUBLIC_BASE_URL"]
    port = env.get("PORT", "").strip()
    if port:
        return f"http://127.0.0.1:{port}"
    with contextlib.suppress(OSError, UnicodeDecodeError):
        served = Path(instance_path, SITE_ADDRESS_FILE).read_text().strip()
        if served.startswith("http://127.0.0.1:"):
            return served
    return "http://127.0.0.1:8000"


def _positive_int(env: dict, name: str, default: int) -> int:
    text = env.get(name, str(default))
    if not text.strip().isdigit() or int(text) < 1:
        raise ConfigError(f"{name} must be a whole number of at least 1, not {text!r}")
    return int(text)


# --- production start checks -----------------------------------------------------------------


def _holidays(env: dict) -> frozenset[date]:
    """PUBLIC_HOLIDAYS: days off besides Hong Kong's general holidays (rules.shops.hours knows those),
    e.g. one declared at short notice; dates as YYYY-MM-DD separated by commas. One bad date and the
    site does not start."""
    text = env.get("PUBLIC_HOLIDAYS", "")
    days = set()
    for piece in filter(None, (part.strip() for part in text.split(","))):
        try:
            if len(piece) != 10:  # fromisoformat also takes 20260101 and week dates: only YYYY-MM-DD here
                raise ValueError(piece)
            days.add(date.fromisoformat(piece))
        except ValueError:
            raise ConfigError(f"PUBLIC_HOLIDAYS: {piece[:20]!r} is not a date (YYYY-MM-DD)") from None
    return frozenset(days)


def _guessable(secret: str) -> bool:
    """True for a key an attacker tries first: few different characters ("a" * 32), a short unit
    repeated ("abcd" * 8), or mostly a run along the keyboard or alphabet ("abcdef…", "123456…").

    A random key of 32 hex characters has about 13 different ones; none of these rules refuses one
    except with odds far below one in a million.
    """
    if len(set(secret)) < 8:
        return True
    if any(secret == (secret[:unit] * len(secret))[: len(secret)] for unit in range(1, 16)):
        return True
    steps = [ord(b) - ord(a) for a, b in itertools.pairwise(secret)]
    return sum(abs(step) <= 1 for step in steps) * 2 > len(steps)


# The online payment methods this code knows, in the order they are offered. PAYMENT_METHODS (comma
# separated) enables some of them; production refuses to start when an enabled one lacks a setting.
KNOWN_PAYMENT_METHODS = ("alipay", "wechat", "stripe")


def _payment_methods(env: dict[str, str]) -> tuple[str, ...]:
    names = [name.strip() for name in env.get("PAYMENT_METHODS", ",".join(KNOWN_PAYMENT_METHODS)).split(",")]
    names = [name for name in names if name]
    unknown = [name for name in names if name not in KNOWN_PAYMENT_METHODS]
    if unknown or not names:
        raise ConfigError(
            f"PAYMENT_METHODS must list some of {', '.join(KNOWN_PAYMENT_METHODS)}, not {env.get('PAYMENT_METHODS')!r}"
        )
    return tuple(dict.fromkeys(names))


def _check_alipay(env: dict[str, str]) -> None:
    from gateways import alipay_keys

    if not env.get("ALIPAY_APP_ID"):
        raise ConfigError("production needs the real Alipay settings (ALIPAY_APP_ID, keys, gateway)")
    if not (env.get("ALIPAY_APP_PRIVATE_KEY") and env.get("ALIPAY_PUBLIC_KEY")):
        raise ConfigError("production needs ALIPAY_APP_PRIVATE_KEY and ALIPAY_PUBLIC_KEY")
    if not env.get("ALIPAY_SELLER_ID"):
        raise ConfigError("ALIPAY_SELLER_ID must be set (the merchant's 2088… partner id)")
    try:
        alipay_keys.pkcs1_private_key(env["ALIPAY_APP_PRIVATE_KEY"])
    except (ValueError, IndexError, TypeError) as error:
        raise ConfigError(f"ALIPAY_APP_PRIVATE_KEY is not an RSA private key ({error})") from None
    try:
        alipay_keys.public_key_pem(env["ALIPAY_PUBLIC_KEY"])
    except (ValueError, IndexError, TypeError) as error:
        raise ConfigError(f"ALIPAY_PUBLIC_KEY is not an RSA public key ({error})") from None


# --- WeChat Pay ---------------------------------------------------------------------------------
WECHATPAY_REQUIRED = (
    "WECHATPAY_MCHID",
    "WECHATPAY_APPID",
    "WECHATPAY_APIV3_KEY",
    "WECHATPAY_PRIVATE_KEY",
    "WECHATPAY_CERT_SERIAL",
    "WECHATPAY_PLATFORM_PUBLIC_KEY",
    "WECHATPAY_PLATFORM_SERIAL",
)


def _check_wechat(env: dict[str, str]) -> None:
    from gateways import wechat_keys

    missing = [name for name in WECHATPAY_REQUIRED if not env.get(name)]
    if missing:
        raise ConfigError("WeChat Pay (PAYMENT_METHODS) needs " + ", ".join(missing))
    for name, read in (
        ("WECHATPAY_PRIVATE_KEY", wechat_keys.private_key),
        ("WECHATPAY_PLATFORM_PUBLIC_KEY", wechat_keys.platform_key),
        ("WECHATPAY_APIV3_KEY", wechat_keys.apiv3_key),
    ):
        try:
            read(env[name])
        except (ValueError, IndexError, TypeError) as error:
            raise ConfigError(f"{name} cannot be used ({error})") from None


def _wechat_settings(env: dict[str, str], instance_path: str) -> dict:
    """WeChat Pay's settings. The default is the cross-border ("global") API of a Hong Kong merchant:
    HKD on apihk.mch.weixin.qq.com; WECHATPAY_API=mainland for a merchant contracted in the mainland."""
    api = env.get("WECHATPAY_API", "global")
    if api not in ("global", "mainland"):
        raise ConfigError(f"WECHATPAY_API must be global or mainland, not {api!r}")
    default_host = "https://apihk.mch.weixin.qq.com" if api == "global" else "https://api.mch.weixin.qq.com"
    return {
        "WECHATPAY_API": api,
        # Ignored in sandbox mode: the host is then PUBLIC_BASE_URL + /sandbox/wechat.
        "WECHATPAY_HOST": env.get("WECHATPAY_HOST", default_host),
        "WECHATPAY_CURRENCY": env.get("WECHATPAY_CURRENCY", "HKD" if api == "global" else "CNY"),
        "WECHATPAY_MCHID": env.get("WECHATPAY_MCHID", "1900000109"),
        "WECHATPAY_APPID": env.get("WECHATPAY_APPID", "wx8888888888888888"),
        # Contents (PEM or bare base64); generated in sandbox mode, as is the API v3 key.
        "WECHATPAY_APIV3_KEY": env.get("WECHATPAY_APIV3_KEY", ""),
        "WECHATPAY_PRIVATE_KEY": env.get("WECHATPAY_PRIVATE_KEY", ""),
        "WECHATPAY_CERT_SERIAL": env.get("WECHATPAY_CERT_SERIAL", ""),
        # The WeChat Pay public key (or a platform certificate) and its id (PUB_KEY_ID_…, or the serial).
        "WECHATPAY_PLATFORM_PUBLIC_KEY": env.get("WECHATPAY_PLATFORM_PUBLIC_KEY", ""),
        "WECHATPAY_PLATFORM_SERIAL": env.get("WECHATPAY_PLATFORM_SERIAL", ""),
        "WECHATPAY_TIMEOUT": float(env.get("WECHATPAY_TIMEOUT", "15")),  # seconds, per API call
        "WECHATPAY_KEY_DIR": env.get("WECHATPAY_KEY_DIR", os.path.join(instance_path, "wechat")),
    }


def _check_stripe(env: dict[str, str]) -> None:
    """A live secret (or restricted) key and the webhook endpoint's signing secret."""
    key, secret = env.get("STRIPE_SECRET_KEY", ""), env.get("STRIPE_WEBHOOK_SECRET", "")
    if not key:
        raise ConfigError("production needs STRIPE_SECRET_KEY (Stripe's live secret key, sk_live_…)")
    if not key.startswith(("sk_live_", "rk_live_")):
        raise ConfigError(
            "STRIPE_SECRET_KEY must be a live key (sk_live_… or rk_live_…), not a test or publishable one"
        )
    if not secret.startswith("whsec_"):
        raise ConfigError("STRIPE_WEBHOOK_SECRET must be the webhook endpoint's signing secret (whsec_…)")


# Each enabled method's production settings, checked (keys parsed) at start.
PRODUCTION_CHECKS = {"alipay": _check_alipay, "wechat": _check_wechat, "stripe": _check_stripe}


def _check_production(env: dict[str, str]) -> None:
    """Refuse a half-configured production with the first thing missing; everything is checked at start.

    Keys are parsed here, not at the first payment; the carrier and the SMS provider must be real.
    """
    base = urlsplit(env.get("PUBLIC_BASE_URL", ""))
    if base.scheme != "https" or not base.netloc:
        raise ConfigError("PUBLIC_BASE_URL must be the site's https:// address (payment providers call it back)")
    for method in _payment_methods(env):
        check = PRODUCTION_CHECKS.get(method)
        if check is None:
            raise ConfigError(f"payment method {method} cannot be used in production yet")
        check(env)
    provider = env.get("SMS_PROVIDER", "outbox")
    if provider != "twilio":
        raise ConfigError(f"SMS_PROVIDER must be a real provider (twilio), not {provider!r}")
    missing = [name for name in TWILIO_SETTINGS if not env.get(name)]
    if missing:
        raise ConfigError("SMS_PROVIDER=twilio needs " + ", ".join(missing))
    if env.get("CARRIER", "simulated") == "simulated":
        raise ConfigError("CARRIER must not be the simulated carrier in production (e.g. CARRIER=manual)")


TWILIO_SETTINGS = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM")


def _sms_settings(env: dict[str, str]) -> dict:
    return {
        # outbox: messages stay in the outbox (sandbox page /sandbox/sms); twilio: sent with Twilio.
        "SMS_PROVIDER": env.get("SMS_PROVIDER", "outbox"),
        **{name: env.get(name, "") for name in TWILIO_SETTINGS},
        "TWILIO_API_BASE": env.get("TWILIO_API_BASE", ""),  # tests: a local stub instead of api.twilio.com
        "TWILIO_TIMEOUT": float(env.get("TWILIO_TIMEOUT", "10")),
    }


def _stripe_settings(env: dict[str, str], instance_path: str, sandbox: bool) -> dict:
    """Cards through Stripe Checkout. In sandbox mode the keys are the local sandbox's, generated once
    into instance/stripe/ (its API is then PUBLIC_BASE_URL + /sandbox/stripe, whatever STRIPE_API_BASE says)."""
    key, secret = env.get("STRIPE_SECRET_KEY", ""), env.get("STRIPE_WEBHOOK_SECRET", "")
    if sandbox:
        seed = _instance_secret(os.path.join(instance_path, "stripe"))
        key, secret = "sk_test_sandbox_" + seed[:32], "whsec_sandbox_" + seed[32:]
    return {
        "STRIPE_SECRET_KEY": key,
        "STRIPE_WEBHOOK_SECRET": secret,
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE", "https://api.stripe.com"),
        "STRIPE_CURRENCY": env.get("STRIPE_CURRENCY", "HKD").upper(),
        "STRIPE_TIMEOUT": float(env.get("STRIPE_TIMEOUT", "15")),  # seconds, per API call
        # How old a webhook's signed timestamp may be (Stripe's libraries default to 5 minutes).
        "STRIPE_WEBHOOK_TOLERANCE": _positive_int(env, "STRIPE_WEBHOOK_TOLERANCE", 300),
    }


def _timeouts(env, database_url: str) -> dict:
    """PostgreSQL gives up waiting for a lock after DB_LOCK_TIMEOUT_MS and on a statement after
    DB_STATEMENT_TIMEOUT_MS, so a stuck writer costs one request a worded 503, not a worker forever."""
    if database_url.startswith("sqlite"):
        # SQLite has one writer at a time: in a burst (40 sign-ins at once) a writer waits its turn
        # up to 30 s instead of failing "database is locked" after the driver's 5 s.
        return {"connect_args": {"timeout": 30}}
    if not database_url.startswith("postgresql"):
        return {}
    lock_ms = _positive_int(env, "DB_LOCK_TIMEOUT_MS", 5000)
    statement_ms = _positive_int(env, "DB_STATEMENT_TIMEOUT_MS", 15000)
    return {"connect_args": {"options": f"-c lock_timeout={lock_ms} -c statement_timeout={statement_ms}"}}


def load(instance_path: str, overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from the environment and `overrides` (tests)."""
    env = {**os.environ, **{k: str(v) for k, v in (overrides or {}).items() if isinstance(v, str)}}
    production = env.get("ROAMRENEW_ENV") == "production"
    secret = env.get("SECRET_KEY")
    if production and (not secret or len(secret) < 32):
        raise ConfigError("SECRET_KEY must be set to at least 32 random characters in production")
    if production and _guessable(secret or ""):
        raise ConfigError("SECRET_KEY is too easy to guess: use random characters, e.g. from `openssl rand -hex 32`")
    alipay_app_id = env.get("ALIPAY_APP_ID")
    # Sandbox mode (every payment method's embedded sandbox, /sandbox/ pages) is development without
    # real Alipay settings; production never is.
    sandbox = not production and not alipay_app_id
    carrier = env.get("CARRIER", "simulated")
    if carrier not in ("simulated", "manual"):
        raise ConfigError(f"CARRIER must be simulated or manual, not {carrier!r}")
    if production:
        _check_production(env)
    default_db = "sqlite:///" + os.path.join(instance_path, "roamrenew.db")
    database_url = _sqlalchemy_url(env.get("SQLALCHEMY_DATABASE_URI") or env.get("DATABASE_URL", default_db))
    config = {
        "PRODUCTION": production,
        "SANDBOX": sandbox,
        "SECRET_KEY": secret or _instance_secret(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # A database error is logged without the values bound to it (phone numbers, codes, bodies).
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True, **_timeouts(env, database_url)},
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
        # Top-up without signing in (number + last 4 ICCID digits), counted in the database.
        "TOPUP_PHONE_LIMIT": env.get("TOPUP_PHONE_LIMIT", "5 per hour"),
        "TOPUP_IP_LIMIT": env.get("TOPUP_IP_LIMIT", "20 per hour"),
        # Failed staff sign-ins (password or code), counted in the database per username and per address.
        "STAFF_LOGIN_USER_LIMIT": env.get("STAFF_LOGIN_USER_LIMIT", "10 per hour"),
        "STAFF_LOGIN_IP_LIMIT": env.get("STAFF_LOGIN_IP_LIMIT", "30 per hour"),
        # Reverse proxies in front that append to X-Forwarded-For (0: none, the peer is the client).
        "TRUSTED_PROXY_COUNT": int(env.get("TRUSTED_PROXY_COUNT", "0")),
        "SESSION_IDLE_DAYS": int(env.get("SESSION_IDLE_DAYS", "14")),
        "SESSION_MAX_DAYS": int(env.get("SESSION_MAX_DAYS", "30")),
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Hong_Kong",
        "PUBLIC_HOLIDAYS": _holidays(env),
        "PAGE_CACHE_SECONDS": int(env.get("PAGE_CACHE_SECONDS", "30")),
        # Hashed and precompressed copies of static/ (built at start; see web/static_files.py).
        "STATIC_BUILD_DIR": env.get("STATIC_BUILD_DIR", os.path.join(instance_path, "static-build")),
        # Benchmarks only: answer each request with its number of SQL queries in X-Query-Count.
        "QUERY_COUNT_HEADER": env.get("QUERY_COUNT_HEADER") == "1" and not production,
        "PUBLIC_BASE_URL": _public_base_url(env, instance_path),
        # How long a traveller has to pay an order; also the trade's time_expire at Alipay.
        "PAY_WITHIN_MINUTES": _positive_int(env, "PAY_WITHIN_MINUTES", 15),
        # simulated: packs recorded here; manual: paid orders wait for staff to add the data by hand.
        "CARRIER": carrier,
        "PAYMENT_METHODS": _payment_methods(env),
        # How long a carrier's balance answer is kept (the carrier is slow and rate-limited).
        "CARRIER_CACHE_SECONDS": int(env.get("CARRIER_CACHE_SECONDS", "60")),
        # The simulated carrier's sandbox switches: how long "times out" and "answers slowly" take.
        "CARRIER_TIMEOUT_SECONDS": float(env.get("CARRIER_TIMEOUT_SECONDS", "3")),
        "CARRIER_SLOW_SECONDS": float(env.get("CARRIER_SLOW_SECONDS", "2")),
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
        # The sandbox partners' clock: their retry schedules (Alipay's notifications: 4 m ... 15 h) are
        # multiplied by it. 1 is real time; tests and demos use e.g. 0.001 (Alipay's 25 hours in ~90 s).
        "SANDBOX_TIME_SCALE": float(env.get("SANDBOX_TIME_SCALE", "1")),
        # The sandbox gateway's bill for a day is ready this many hours after that day ends (UTC+8).
        "ALIPAY_SANDBOX_BILL_DELAY_HOURS": float(env.get("ALIPAY_SANDBOX_BILL_DELAY_HOURS", "0")),
    }
    config.update(_sms_settings(env))
    config.update(_wechat_settings(env, instance_path))
    config.update(_stripe_settings(env, instance_path, sandbox))
    # Posts to the notify URL that fail the signature: rows kept per sender IP and hour, then refused.
    config["UNSIGNED_NOTIFICATIONS_PER_HOUR"] = int(env.get("UNSIGNED_NOTIFICATIONS_PER_HOUR", "20"))
    config.update(overrides or {})
    if isinstance(config["PUBLIC_HOLIDAYS"], str):  # a test's override, as the environment would give it
        config["PUBLIC_HOLIDAYS"] = _holidays({"PUBLIC_HOLIDAYS": config["PUBLIC_HOLIDAYS"]})
    limit_names = ("SIGNIN_IP_LIMIT", "SIGNIN_PHONE_LIMIT", "SIGNIN_BURST_LIMIT", "VERIFY_IP_LIMIT")
    for name in (*limit_names, "TOPUP_PHONE_LIMIT", "TOPUP_IP_LIMIT", "STAFF_LOGIN_USER_LIMIT", "STAFF_LOGIN_IP_LIMIT"):
        try:
            limits.parse(str(config[name]))
        except ValueError:
            raise ConfigError(f"{name} must read like '5 per hour', not {config[name]!r}") from None
    # Confirming an order redirects the form's POST on to the gateway: CSP form-action must allow it.
    gateway = urlsplit(str(config["ALIPAY_GATEWAY"]))
    config["ALIPAY_FORM_ORIGIN"] = "" if config["SANDBOX"] else f"{gateway.scheme}://{gateway.netloc}"
    stripe_used = "stripe" in cast(tuple, config["PAYMENT_METHODS"]) and not config["SANDBOX"]
    config["STRIPE_FORM_ORIGIN"] = "https://checkout.stripe.com" if stripe_used else ""  # its hosted Checkout
    return config
