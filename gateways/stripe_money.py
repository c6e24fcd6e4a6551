"""Stripe refunds and the day's bill (balance transactions).

Refunds carry our out_request_no as their idempotency key and in their metadata: Stripe keeps an
idempotency key for 24 hours only, so an older request is first looked for among the payment's
refunds. The bill reads charges and refunds at the amounts charged and refunded (the order's
currency), not as settled.
"""

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import stripe
from flask import current_app

from gateways import stripe_checkout, stripe_client
from gateways.payment_methods import BillLine, GatewayError, RefundResult

HONG_KONG = ZoneInfo("Asia/Hong_Kong")
REFUND_LIVE = ("pending", "requires_action", "succeeded")  # not failed or canceled


def _intent(out_trade_no: str, trade_no: str | None) -> str:
    if trade_no and trade_no.startswith("pi_"):
        return trade_no
    trade = stripe_checkout.query(out_trade_no)
    if trade is None or trade.trade_status != "TRADE_SUCCESS":
        raise GatewayError(f"order {out_trade_no} has no paid Stripe payment")
    return trade.trade_no


def _refunds(intent: str) -> list[dict]:
    page = stripe_client.call(
        "refund list", stripe_client.client().v1.refunds.list, params={"payment_intent": intent, "limit": 100}
    )
    refunds = [refund.to_dict() for refund in page.data]
    return [refund for refund in refunds if refund.get("status") in REFUND_LIVE]


def _request_no(refund: dict) -> str | None:
    return (refund.get("metadata") or {}).get("out_request_no")


def refund(
    out_trade_no: str, amount_cents: int, out_request_no: str, reason: str, trade_no: str | None = None
) -> RefundResult:
    """Refund part or all of the payment. Stripe keeps an idempotency key for 24 hours only, so an
    older request is first looked for among the payment's refunds by its out_request_no."""
    intent = _intent(out_trade_no, trade_no)
    earlier = _refunds(intent)
    total = sum(stripe_client.cents(item.get("amount")) or 0 for item in earlier)
    if any(_request_no(item) == out_request_no for item in earlier):
        return RefundResult(False, total)
    params: Any = {
        "payment_intent": intent,
        "amount": amount_cents,
        "metadata": {"order": out_trade_no, "out_request_no": out_request_no, "reason": reason[:200]},
    }
    created = stripe_client.call(
        "refund", stripe_client.client().v1.refunds.create, params=params, options={"idempotency_key": out_request_no}
    )
    replayed = created.last_response is not None and created.last_response.headers.get("Idempotent-Replayed")
    made = created.to_dict()
    if made.get("status") not in REFUND_LIVE:
        raise GatewayError(f"Stripe refund {made.get('id')} is {made.get('status')}")
    return RefundResult(not replayed, total if replayed else total + (stripe_client.cents(made.get("amount")) or 0))


def query_refund(out_trade_no: str, out_request_no: str, trade_no: str | None = None) -> int | None:
    try:
        intent = _intent(out_trade_no, trade_no)
    except GatewayError:
        if stripe_checkout.query(out_trade_no) is None:
            return None  # no such payment: no such refund either
        raise
    found = [
        stripe_client.cents(item.get("amount")) for item in _refunds(intent) if _request_no(item) == out_request_no
    ]
    return found[0] if found else None


def _bill_line(transaction: dict) -> BillLine | None:
    source, kind = transaction.get("source"), transaction.get("type")
    if not isinstance(source, dict):  # expanded: the charge or the refund itself
        return None
    metadata, intent = source.get("metadata") or {}, str(source.get("payment_intent") or "")
    when, order = stripe_client.from_timestamp(transaction.get("created")), str(metadata.get("order", ""))
    cents = stripe_client.cents(source.get("amount"))
    if cents is None:
        raise GatewayError(f"Stripe balance transaction {transaction.get('id')} has no amount")
    if kind in ("charge", "payment"):
        return BillLine("payment", intent, order, None, cents, when)
    if kind in ("refund", "payment_refund"):
        return BillLine("refund", intent, order, metadata.get("out_request_no"), cents, when)
    return None  # fees, payouts, adjustments: not a payment of an order


def day_bill(day: date) -> list[BillLine]:
    """The charges and refunds of a Hong Kong day, from the balance transactions: amounts as charged
    and refunded (the order's currency), not as settled. No Stripe account set up: nothing is there."""
    if not current_app.config["SANDBOX"] and not current_app.config["STRIPE_SECRET_KEY"]:
        return []
    start = datetime.combine(day, time(0), HONG_KONG)
    created = {"gte": int(start.timestamp()), "lt": int((start + timedelta(days=1)).timestamp())}
    params: Any = {"created": created, "limit": 100, "expand": ["data.source"]}
    page = stripe_client.call(
        "balance transactions", stripe_client.client().v1.balance_transactions.list, params=params
    )
    try:
        lines = [_bill_line(transaction.to_dict()) for transaction in page.auto_paging_iter()]
    except stripe.StripeError as error:
        raise GatewayError(f"Stripe balance transactions: {error}"[:300]) from error
    return [line for line in lines if line is not None]
