"""Every payment method in words: the online ones a traveller chooses, and those a counter records.

Order.payment_method holds an online method's name ("alipay", "wechat", "stripe") or a counter's
"counter:<code>". Pages, receipts, texts and exports name a method only through method_name().
"""

from flask_babel import lazy_gettext as _l

from gateways import providers
from models import Order

ONLINE = {"alipay": _l("Alipay"), "wechat": _l("WeChat Pay"), "stripe": _l("Credit or debit card")}
COUNTER = {
    "cash": _l("Cash"),
    "card": _l("Card terminal"),
    "alipayhk_qr": _l("AlipayHK QR code"),
    "wechat_qr": _l("WeChat Pay QR code"),
}


def method_name(payment_method: str | None) -> str:
    """ "counter:cash" -> "Cash", "wechat" -> "WeChat Pay" (in the current language); unknown as it is."""
    method = payment_method or ""
    if method.startswith("counter:"):
        code = method.removeprefix("counter:")
        return str(COUNTER[code]) if code in COUNTER else code
    return str(ONLINE[method]) if method in ONLINE else method


def of_order(order: Order) -> str:
    """The method an order is paid, or is to be paid, with, in words; one confirmed before methods were
    chosen is the registry's default's."""
    return method_name(order.payment_method or providers.DEFAULT_METHOD)
