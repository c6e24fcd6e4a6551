"""The one payment interface: what the rules ask of any online payment method, and its answers.

An implementation (gateways.alipay_gateway.AlipayProvider is the first) talks to one provider and
translates its answers into the neutral types below. Money crosses this boundary as integer cents,
times as naive UTC, and every failure to get an answer (network, timeout, HTTP status, an unsigned
or malformed answer, an error code) comes out as GatewayError, never as the provider's own
exception. The rules never see a provider's SDK and never test the method's name; they take the
implementation from the registry (gateways.providers) by the order's payment_method.

Calls that change something at the provider (close, refund) must be safe to repeat: the rules
retry them after timeouts and crashes, and a repeat must neither fail nor move money twice.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from models import NotificationOutcome, Order


class GatewayError(Exception):
    """The provider could not be reached, or did not do what was asked; the message says which."""


class BillNotReady(GatewayError):
    """The provider has no bill for that day yet (it comes the next morning, sometimes late): ask again later."""


class NotificationRefused(Exception):
    """A notification that must not be applied; `outcome` is what it is kept as."""

    def __init__(self, outcome: NotificationOutcome) -> None:
        super().__init__(outcome)
        self.outcome = outcome


@dataclass(frozen=True)
class Incoming:
    """A request from the provider (a notification) or from the browser coming back from its cashier,
    as it reached us: each provider signs a different part of it."""

    form: Mapping[str, str]  # the form fields of a POST, or the query arguments of a GET
    body: bytes = b""  # the raw body, as signed (WeChat Pay and Stripe sign it with headers)
    headers: Mapping[str, str] = field(default_factory=dict)  # names in lower case

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass(frozen=True)
class Answer:
    """What a notification is answered with, as its provider expects it."""

    body: str
    status: int
    content_type: str = "text/plain"


@dataclass
class Trade:
    """A payment as the provider has it."""

    trade_status: str  # WAIT_BUYER_PAY | TRADE_SUCCESS | TRADE_FINISHED | TRADE_CLOSED
    trade_no: str
    total_cents: int
    paid_at: datetime | None  # naive UTC
    currency: str | None = None  # upper case; None: the provider's answer names none (Alipay's)


@dataclass(frozen=True)
class Notification:
    """A signed notification from the provider, read but not yet checked against our orders."""

    out_trade_no: str  # our order number
    trade_no: str
    trade_status: str  # as Trade.trade_status
    total_cents: int | None  # None: an amount that could not be read (kept as bad_amount)
    details: dict  # what the order's history keeps of it (trade_no, the provider's notification id)
    currency: str | None = None  # upper case; None: the notification names none (Alipay's)


# A Notification.trade_status for an event that says nothing about a payment's state (a refund's own
# event, say): kept for staff, answered as taken in, never applied.
NOT_A_PAYMENT = "NOT_A_PAYMENT"


@dataclass
class RefundResult:
    fund_change: bool  # False: this out_request_no was refunded before, nothing moved now
    refund_fee_cents: int  # the trade's refunded total so far, as the provider reports it


@dataclass(frozen=True)
class BillLine:
    """One payment or refund in the provider's bill of a day."""

    kind: str  # payment | refund
    trade_no: str
    out_trade_no: str
    refund_no: str | None  # refunds only: the out_request_no
    amount_cents: int  # positive, for refunds too
    finished_at: datetime | None  # naive UTC


class PaymentProvider(Protocol):
    """One online payment method. Every call may raise GatewayError unless it says otherwise."""

    name: str  # the Order.payment_method and PaymentNotification.provider it stands for

    def start_payment(self, order: Order, *, return_url: str, notify_url: str, quit_url: str) -> str:
        """The URL to send the phone's browser to, to pay `order` (signed; opening it twice is harmless)."""
        ...

    def read_notification(self, incoming: Incoming) -> Notification:
        """Verify a notification and read it. Raises NotificationRefused (missing fields, bad
        signature, not for this merchant); the same notification may come many times. Never
        GatewayError: it asks nobody."""
        ...

    def answer(self, accepted: bool) -> Answer:
        """The reply to a notification: `accepted` stops the provider sending it again."""
        ...

    def returned_order(self, incoming: Incoming) -> str | None:
        """The order number a browser coming back from the cashier is about, or None when the return
        is not genuine (a bad signature where the provider signs returns). Never raises. A return
        never marks anything paid: the rules ask the provider (query) instead."""
        ...

    def query(self, out_trade_no: str) -> Trade | None:
        """The trade as the provider has it, or None when it has none (the cashier was never opened)."""
        ...

    def close(self, out_trade_no: str) -> bool:
        """Close an unpaid trade so it can no longer be paid. True if closed, or if there is none.
        Idempotent: closing a closed trade is True; a paid trade raises GatewayError."""
        ...

    def refund(
        self, out_trade_no: str, amount_cents: int, out_request_no: str, reason: str, trade_no: str | None = None
    ) -> RefundResult:
        """Refund `amount_cents` of a paid trade (exactly trade `trade_no` when given). Idempotent by
        out_request_no: a repeat answers fund_change=False and moves no money."""
        ...

    def query_refund(self, out_trade_no: str, out_request_no: str, trade_no: str | None = None) -> int | None:
        """The cents refunded by request `out_request_no`, or None when the provider has no such refund."""
        ...

    def day_bill(self, day: date) -> list[BillLine]:
        """The provider's bill of `day` (its own calendar day). Raises BillNotReady before it exists."""
        ...
