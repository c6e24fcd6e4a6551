"""Alipay as an implementation of the payment interface (gateways.payment_methods.PaymentProvider).

Each call goes to the module functions of alipay_gateway and alipay_bill, looked up when called,
so that what is said there about Alipay (and any test standing in for one of them) holds here too.
"""

from datetime import date

from gateways import alipay_bill, alipay_gateway
from gateways.payment_methods import BillLine, Notification, RefundResult, Trade
from models import Order

# The URL lives ~30 s: a failed download is retried at once with a fresh URL.
DOWNLOAD_TRIES = 2


class AlipayProvider:
    name = "alipay"

    def start_payment(self, order: Order, *, return_url: str, notify_url: str, quit_url: str) -> str:
        return alipay_gateway.payment_url(order, return_url=return_url, notify_url=notify_url, quit_url=quit_url)

    def verify(self, params: dict[str, str]) -> bool:
        return alipay_gateway.verify_signature(params)

    def read_notification(self, params: dict[str, str]) -> Notification:
        return alipay_gateway.read_notification(params)

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
