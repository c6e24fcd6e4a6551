"""The registry of payment methods: which implementation of the payment interface serves an order.

Keyed by Order.payment_method. Alipay is the only online method today, so an order that names none
(not paid yet) or a counter's ("counter:cash") is Alipay's, as every order was before methods existed.
"""

from flask import current_app

from gateways.alipay_provider import AlipayProvider
from gateways.payment_methods import PaymentProvider
from gateways.stripe_provider import StripeProvider
from gateways.wechat_pay import WeChatPayProvider
from models import Order

DEFAULT_METHOD = "alipay"
PROVIDERS: dict[str, PaymentProvider] = {DEFAULT_METHOD: AlipayProvider()}
PROVIDERS["wechat"] = WeChatPayProvider()
PROVIDERS["stripe"] = StripeProvider()


def provider(method: str) -> PaymentProvider:
    """The implementation registered for `method` (KeyError for one that is not)."""
    return PROVIDERS[method]


def for_order(order: Order) -> PaymentProvider:
    """The provider the order is (or will be) paid through."""
    return PROVIDERS.get(order.payment_method or "") or PROVIDERS[DEFAULT_METHOD]


def all_providers() -> list[PaymentProvider]:
    """Every implemented method: their notifications, refunds and bills are handled even once a method
    is no longer offered (orders paid before still have money there)."""
    return list(PROVIDERS.values())


def offered() -> list[PaymentProvider]:
    """The methods a traveller may choose now (PAYMENT_METHODS), in the order the setting lists them."""
    return [PROVIDERS[name] for name in current_app.config["PAYMENT_METHODS"] if name in PROVIDERS]
