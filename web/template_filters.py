"""The Jinja filters that format money, data, Hong Kong times and masked numbers (rules.text.formatting),
and name payment methods (rules.payments.method_names)."""

from flask import Flask

from rules.payments import method_names
from rules.text import formatting


def register(app: Flask) -> None:
    app.jinja_env.filters.update(
        money=formatting.money,
        data_amount=formatting.data_amount,
        hk_time=formatting.hk_time,
        short_date=formatting.short_date,
        phone=formatting.phone,
        mask_phone=formatting.mask_phone,
        mask_iccid=formatting.mask_iccid,
        payment_method=method_names.method_name,  # "counter:cash" -> "Cash", "wechat" -> "WeChat Pay"
        paid_with=method_names.of_order,  # an order's method, also before it is paid
    )
