"""Cards through Stripe Checkout as an implementation of the payment interface
(gateways.payment_methods.PaymentProvider): stripe_checkout (sessions), stripe_events (webhooks),
stripe_money (refunds, the day's bill), over stripe_client (sandbox mode: the local Stripe sandbox)."""

import json
from datetime import date

from gateways import stripe_checkout, stripe_events, stripe_money
from gateways.payment_methods import Answer, BillLine, Incoming, Notification, RefundResult, Trade
from models import Order


class StripeProvider:
    name = "stripe"

    def start_payment(self, order: Order, *, return_url: str, notify_url: str, quit_url: str) -> str:
        """notify_url is not Stripe's to take: webhooks go to the endpoint set up in Stripe's dashboard."""
        return stripe_checkout.checkout_url(order, return_url, quit_url)

    def read_notification(self, incoming: Incoming) -> Notification:
        return stripe_events.read_notification(incoming)

    def answer(self, accepted: bool) -> Answer:
        """Stripe stops sending on any 2xx."""
        return Answer(json.dumps({"received": accepted}), 200 if accepted else 400, "application/json")

    def returned_order(self, incoming: Incoming) -> str | None:
        return stripe_checkout.returned_order(incoming)

    def query(self, out_trade_no: str) -> Trade | None:
        return stripe_checkout.query(out_trade_no)

    def close(self, out_trade_no: str) -> bool:
        return stripe_checkout.close(out_trade_no)

    def refund(
        self, out_trade_no: str, amount_cents: int, out_request_no: str, reason: str, trade_no: str | None = None
    ) -> RefundResult:
        return stripe_money.refund(out_trade_no, amount_cents, out_request_no, reason, trade_no=trade_no)

    def query_refund(self, out_trade_no: str, out_request_no: str, trade_no: str | None = None) -> int | None:
        return stripe_money.query_refund(out_trade_no, out_request_no, trade_no=trade_no)

    def day_bill(self, day: date) -> list[BillLine]:
        return stripe_money.day_bill(day)
