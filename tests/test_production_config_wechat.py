"""Production with WeChat Pay enabled cannot start without its settings, or with keys that do not
parse: one clear line naming the setting."""

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from test_production_config import complete_production_env, production  # noqa: F401  (the fixture)

from config import ConfigError, load


def refusal(tmp_path) -> str:
    with pytest.raises(ConfigError) as refused:
        load(str(tmp_path))
    assert "\n" not in str(refused.value)
    return str(refused.value)


@pytest.mark.parametrize(
    "name",
    [
        "WECHATPAY_MCHID",
        "WECHATPAY_APPID",
        "WECHATPAY_APIV3_KEY",
        "WECHATPAY_PRIVATE_KEY",
        "WECHATPAY_CERT_SERIAL",
        "WECHATPAY_PLATFORM_PUBLIC_KEY",
        "WECHATPAY_PLATFORM_SERIAL",
    ],
)
def test_each_missing_wechat_pay_setting_is_named(production, tmp_path, name):  # noqa: F811
    production.delenv(name)
    assert refusal(tmp_path) == f"RoamRenew cannot start: WeChat Pay (PAYMENT_METHODS) needs {name}"


@pytest.mark.parametrize(
    "name, value",
    [
        ("WECHATPAY_PRIVATE_KEY", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"),
        ("WECHATPAY_PRIVATE_KEY", "<the platform public key>"),
        ("WECHATPAY_PLATFORM_PUBLIC_KEY", "not a key"),
        ("WECHATPAY_PLATFORM_PUBLIC_KEY", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"),
        ("WECHATPAY_APIV3_KEY", "too-short"),
        ("WECHATPAY_APIV3_KEY", "a7Kq2Zr9Lx4Vn8Kc3Hb6Tj1Fy5Gd0SeW1"),
        ("WECHATPAY_APIV3_KEY", "密钥" * 16),
    ],
)
def test_a_wechat_pay_key_that_does_not_parse_is_named(production, tmp_path, name, value):  # noqa: F811
    if value.startswith("<"):
        value = complete_production_env()["WECHATPAY_PLATFORM_PUBLIC_KEY"]
    production.setenv(name, value)
    assert refusal(tmp_path).startswith(f"RoamRenew cannot start: {name} cannot be used (")


def test_a_platform_certificate_is_accepted_in_place_of_the_public_key(production, tmp_path):  # noqa: F811
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x5157F09EFDC096DE15EBE81A47057A7232F4F4F7)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    production.setenv("WECHATPAY_PLATFORM_PUBLIC_KEY", certificate.public_bytes(serialization.Encoding.PEM).decode())
    assert load(str(tmp_path))["WECHATPAY_API"] == "global"


def test_production_without_wechat_pay_enabled_needs_none_of_its_settings(production, tmp_path):  # noqa: F811
    production.setenv("PAYMENT_METHODS", "alipay")
    production.delenv("WECHATPAY_MCHID")
    production.delenv("WECHATPAY_PRIVATE_KEY")
    assert load(str(tmp_path))["PAYMENT_METHODS"] == ("alipay",)


def test_an_unknown_wechat_pay_api_family_is_refused(production, tmp_path):  # noqa: F811
    production.setenv("WECHATPAY_API", "hongkong")
    assert refusal(tmp_path) == "RoamRenew cannot start: WECHATPAY_API must be global or mainland, not 'hongkong'"
