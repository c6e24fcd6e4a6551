"""Alipay as an implementation of the payment interface (gateways.payment_methods.PaymentProvider).

Each call goes to the module functions of alipay_gateway and alipay_bill, looked up when called,
so that what is said there about Alipay (and any test standing in for one of them) holds here too.
"""

from datetime import date

from gateways import alipay_bill, alipay_gateway
from gateways.payment_methods import Answer, BillLine, Incoming, Notification, RefundResult, Trade
from models import Order

# The URL lives ~30 s: a failed download is retried at once with a fresh URL.
DOWNLOAD_TRIES = 2


class AlipayProvider:
    name = "alipay"

    def start_payment(self, order: Order, *, return_url: str, notify_url: str, quit_url: str) -> str:
        return alipay_gateway.payment_url(order, return_url=return_url, notify_url=notify_url, quit_url=quit_url)

    def read_notification(self, incoming: Incoming) -> Notification:
        return alipay_gateway.read_notification(dict(incoming.form))

    def answer(self, accepted: bool) -> Answer:
        """Alipay stops sending only on the exact body `success`."""
        return Answer("success", 200) if accepted else Answer("fail", 400)

    def returned_order(self, incoming: Incoming) -> str | None:
        """The return carries Alipay's signature over the trade's fields."""
        params = dict(incoming.form)
        return params.get("out_trade_no", "")[:20] or None if alipay_gateway.verify_signature(params) else None

    def query(self, out_trade_no: str) -> Trade | None:
        return alipay_gateway.query(out_trade_no)

    def close(self, out_trade_no: str) -> bool:
        return alipay_gateway.close(out_trade_no)

    def refund(
        self, out_trade_no: str, amount_cents: int, out_request_no: str, reason: str, trade_no: str | None = None
    ) -> RefundResult:
        return alipay_gateway.refund(out_trade_no, amount_cents, out_request_no, reason, trade_no=trade_no)

    def query_refund(self, out_trade_no: str, out_request_no: str, trade_no: str | None = None) -> int | None:
        return alipay_gateway.query_refund(out_trade_no, out_request_no, trade_no=trade_no)

    def day_bill(self, day: date) -> list[BillLine]:
        """Alipay's trade bill of `day` (China time, which is Hong Kong's)."""
        last_error: alipay_bill.BillUnreadable | None = None
        for _ in range(DOWNLOAD_TRIES):
            url = alipay_gateway.bill_download_url(day.isoformat())
            try:
                return alipay_bill.parse(alipay_bill.download(url))
            except alipay_bill.BillUnreadable as error:  # expired already, say: ask for a fresh URL
                last_error = error
        assert last_error is not None
        raise last_error
