"""Production cannot start half-configured: one clear line naming what is missing, and a non-zero exit."""

import functools
import os
import subprocess
import sys

import pytest
from Crypto.PublicKey import RSA

from app import create_app
from config import ConfigError, load
from gateways.sms_twilio import TwilioProvider

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


@functools.cache
def complete_production_env() -> dict[str, str]:
    app_key, alipay_key = RSA.generate(1024), RSA.generate(1024)
    merchant_key, wechat_key = RSA.generate(2048), RSA.generate(2048)
    return {
        "ROAMRENEW_ENV": "production",
        "SECRET_KEY": "q7Rw2mZp9Lx4Vn8Kc3Hb6Tj1Fy5Gd0Se",
        "PUBLIC_BASE_URL": "https://roam.example",
        "ALIPAY_APP_ID": "2021004100000000",
        "ALIPAY_SELLER_ID": "2088000011112222",
        # As pasted from Alipay's console: a bare PKCS#8 body, and a bare public key body.
        "ALIPAY_APP_PRIVATE_KEY": "".join(app_key.export_key(pkcs=8).decode().splitlines()[1:-1]),
        "ALIPAY_PUBLIC_KEY": alipay_key.public_key().export_key().decode(),
        "SMS_PROVIDER": "twilio",
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "TWILIO_AUTH_TOKEN": "token",
        "TWILIO_FROM": "+15005550006",
        "CARRIER": "manual",
        # WeChat Pay: apiclient_key.pem (PKCS#8), the WeChat Pay public key and its id, the API v3 key.
        "WECHATPAY_MCHID": "1900000109",
        "WECHATPAY_APPID": "wxd678efh567hg6787",
        "WECHATPAY_APIV3_KEY": "a7Kq2Zr9Lx4Vn8Kc3Hb6Tj1Fy5Gd0SeW",
        "WECHATPAY_PRIVATE_KEY": merchant_key.export_key(pkcs=8).decode(),
        "WECHATPAY_CERT_SERIAL": "444F4864EA9B34415D5D53E4E3B6B3E8C9C1E2F0",
        "WECHATPAY_PLATFORM_PUBLIC_KEY": wechat_key.public_key().export_key().decode(),
        "WECHATPAY_PLATFORM_SERIAL": "PUB_KEY_ID_0114232134912410000000000000000000",
        # Stripe (cards): a live secret key and the webhook endpoint's signing secret, as Stripe shows them.
        "STRIPE_SECRET_KEY": "sk_live_" + "5" * 24,
        "STRIPE_WEBHOOK_SECRET": "whsec_" + "7" * 32,
    }


@pytest.fixture
def production(monkeypatch):
    for name in ("ALIPAY_APP_ID", "SMS_PROVIDER", "CARRIER", "PUBLIC_BASE_URL", "ALIPAY_SELLER_ID", "PAYMENT_METHODS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in complete_production_env().items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_a_complete_production_configuration_starts_with_the_real_sms_provider(production, migrated_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": migrated_url})
    assert app.config["PRODUCTION"] and not app.config["SANDBOX"]
    assert isinstance(app.extensions["sms_provider"], TwilioProvider)


@pytest.mark.parametrize(
    "name, value, says",
    [
        ("PUBLIC_BASE_URL", None, "PUBLIC_BASE_URL must be the site's https:// address"),
        ("PUBLIC_BASE_URL", "http://roam.example", "PUBLIC_BASE_URL must be the site's https:// address"),
        ("ALIPAY_SELLER_ID", None, "ALIPAY_SELLER_ID must be set"),
        (
            "ALIPAY_APP_PRIVATE_KEY",
            "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
            "ALIPAY_APP_PRIVATE_KEY is not an RSA private key",
        ),
        ("ALIPAY_APP_PRIVATE_KEY", "<ALIPAY_PUBLIC_KEY>", "ALIPAY_APP_PRIVATE_KEY is not an RSA private key"),
        ("ALIPAY_PUBLIC_KEY", "not a key", "ALIPAY_PUBLIC_KEY is not an RSA public key"),
        ("SMS_PROVIDER", None, "SMS_PROVIDER must be a real provider (twilio), not 'outbox'"),
        ("TWILIO_AUTH_TOKEN", None, "SMS_PROVIDER=twilio needs TWILIO_AUTH_TOKEN"),
        ("CARRIER", None, "CARRIER must not be the simulated carrier"),
        ("CARRIER", "simulated", "CARRIER must not be the simulated carrier"),
    ],
)
def test_each_missing_or_broken_setting_is_named_in_one_line(production, tmp_path, name, value, says):
    if value is None:
        production.delenv(name)
    else:
        production.setenv(name, complete_production_env()["ALIPAY_PUBLIC_KEY"] if value.startswith("<") else value)
    with pytest.raises(ConfigError) as refused:
        load(str(tmp_path))
    assert str(refused.value).startswith("RoamRenew cannot start: " + says)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    "name, value, says",
    [
        ("STRIPE_SECRET_KEY", None, "production needs STRIPE_SECRET_KEY"),
        ("STRIPE_SECRET_KEY", "sk_test_" + "5" * 24, "STRIPE_SECRET_KEY must be a live key"),
        ("STRIPE_SECRET_KEY", "pk_live_" + "5" * 24, "STRIPE_SECRET_KEY must be a live key"),
        ("STRIPE_WEBHOOK_SECRET", None, "STRIPE_WEBHOOK_SECRET must be the webhook endpoint's signing secret"),
        ("STRIPE_WEBHOOK_SECRET", "secret", "STRIPE_WEBHOOK_SECRET must be the webhook endpoint's signing secret"),
    ],
)
def test_cards_need_a_live_stripe_key_and_the_webhook_secret_named_in_one_line(production, tmp_path, name, value, says):
    if value is None:
        production.delenv(name)
    else:
        production.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        load(str(tmp_path))
    assert str(refused.value).startswith("RoamRenew cannot start: " + says)
    assert "\n" not in str(refused.value)


def test_without_cards_enabled_production_needs_no_stripe_settings(production, tmp_path):
    production.delenv("STRIPE_SECRET_KEY")
    production.setenv("PAYMENT_METHODS", "alipay")
    assert load(str(tmp_path))["PAYMENT_METHODS"] == ("alipay",)


def test_a_restricted_live_key_is_accepted(production, tmp_path):
    production.setenv("STRIPE_SECRET_KEY", "rk_live_" + "5" * 24)
    assert load(str(tmp_path))["STRIPE_SECRET_KEY"].startswith("rk_live_")


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def _half_configured() -> dict[str, str]:
    env = {**os.environ, **complete_production_env(), "DATABASE_URL": "sqlite:////nonexistent/never-opened.db"}
    del env["ALIPAY_SELLER_ID"]
    return env


def test_gunicorn_refuses_to_start_in_its_master_with_one_line(tmp_path):
    result = _run([os.path.join(BIN, "gunicorn"), "--bind", "127.0.0.1:0", "app:create_app()"], _half_configured())
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if "RoamRenew cannot start" in line]
    assert lines == ["Error: RoamRenew cannot start: ALIPAY_SELLER_ID must be set (the merchant's 2088… partner id)"]
    assert "Booting worker" not in result.stderr and "Traceback" not in result.stderr


def test_a_gunicorn_worker_without_the_config_file_stops_the_server_instead_of_retrying(tmp_path):
    config_file = tmp_path / "empty.conf.py"
    config_file.write_text("")
    command = [os.path.join(BIN, "gunicorn"), "-c", str(config_file), "--bind", "127.0.0.1:0", "app:create_app()"]
    result = _run(command, _half_configured())
    assert result.returncode != 0 and "App failed to load" in result.stderr
    assert "RoamRenew cannot start: ALIPAY_SELLER_ID must be set" in result.stderr
    assert "Traceback" not in result.stderr


def test_flask_commands_refuse_with_one_line():
    result = _run([os.path.join(BIN, "flask"), "--app", "app", "jobs", "run-once"], _half_configured())
    assert result.returncode != 0
    assert (
        result.stderr.strip()
        == "RoamRenew cannot start: ALIPAY_SELLER_ID must be set (the merchant's 2088… partner id)"
    )


@pytest.mark.parametrize(
    "secret",
    [
        "a" * 32,
        "ab" * 24,
        "password" * 4,
        "abcd1234" * 5,
        "abcdefghijklmnopqrstuvwxyz012345",
        "0123456789" * 4,
        "zyxwvutsrqponmlkjihgfedcba987654",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
    ],
)
def test_a_long_but_guessable_secret_key_is_refused_in_one_line(production, tmp_path, secret):
    production.setenv("SECRET_KEY", secret)
    with pytest.raises(ConfigError) as refused:
        load(str(tmp_path))
    assert str(refused.value).startswith("RoamRenew cannot start: SECRET_KEY is too easy to guess")
    assert "\n" not in str(refused.value)


def test_random_secret_keys_of_32_characters_or_more_are_accepted(production, tmp_path):
    import secrets

    for key in [secrets.token_hex(16) for _ in range(300)] + [secrets.token_urlsafe(32) for _ in range(100)]:
        production.setenv("SECRET_KEY", key)
        assert load(str(tmp_path))["SECRET_KEY"] == key
