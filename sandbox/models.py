"""The embedded sandbox's own tables (sandbox mode only): the local Alipay gateway's ledger, the
notifications it owes, and the sandbox pages' switches. Not the app's: only sandbox/ reads them."""

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models import utcnow


class SandboxTrade(db.Model):
    """The local Alipay sandbox gateway's own ledger (sandbox mode only)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    out_trade_no: Mapped[str] = mapped_column(String(64), unique=True)
    trade_no: Mapped[str] = mapped_column(String(64), unique=True)
    total_amount: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(20), default="WAIT_BUYER_PAY")
    notify_url: Mapped[str] = mapped_column(String(500))
    return_url: Mapped[str] = mapped_column(String(500))
    quit_url: Mapped[str | None] = mapped_column(String(500))
    refunded_amount_cents: Mapped[int] = mapped_column(default=0)
    refund_requests: Mapped[str] = mapped_column(Text, default="")  # space-separated out_request_no
    # Each refund as a line "<out_request_no> <cents> <UTC ISO time>", for the day's trade bill.
    refund_log: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Alipay closes an unpaid trade at its time_expire: a cashier opened before it cannot pay after it.
    time_expire: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None]


class SandboxDelivery(db.Model):
    """One notification a sandbox provider owes the merchant (sandbox mode only): posted when due and
    again on that provider's retry schedule until answered as it expects. A row, so a restart still
    delivers it (sandbox.deliveries)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(10), default="alipay", server_default="alipay")
    trade_no: Mapped[str] = mapped_column(String(64))
    step: Mapped[int]  # a payment's notifications go out first in this order (reorder, repeat)
    notify_url: Mapped[str] = mapped_column(String(500))
    params: Mapped[str] = mapped_column(Text)  # the signed notification, as the provider's post reads it
    attempts: Mapped[int] = mapped_column(default=0)  # posts made so far
    due_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]  # a worker is posting it; another may take it after this
    done_at: Mapped[datetime | None]  # answered `success`, or the last retry went unanswered
    answered: Mapped[bool] = mapped_column(default=False)


class SandboxSetting(db.Model):
    """A switch on the sandbox pages (e.g. how the simulated carrier behaves), shared by every worker."""

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


Index("ix_sandbox_delivery_due", SandboxDelivery.done_at, SandboxDelivery.due_at)


class SandboxWechatTrade(db.Model):
    """The WeChat Pay sandbox's own trades (sandbox mode only), one per out_trade_no, in cents."""

    id: Mapped[int] = mapped_column(primary_key=True)
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    transaction_id: Mapped[str] = mapped_column(String(32), unique=True)
    prepay_id: Mapped[str] = mapped_column(String(64), unique=True)  # what the h5_url names
    mchid: Mapped[str] = mapped_column(String(32))
    appid: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(128))
    total_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(12), default="NOTPAY")  # NOTPAY | SUCCESS | REFUND | CLOSED
    notify_url: Mapped[str] = mapped_column(String(500))
    time_expire: Mapped[datetime | None]  # an unpaid trade closes then, as WeChat Pay's does
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None]


class SandboxWechatRefund(db.Model):
    """One refund the WeChat Pay sandbox made; out_refund_no is unique, so a repeat moves nothing."""

    id: Mapped[int] = mapped_column(primary_key=True)
    out_refund_no: Mapped[str] = mapped_column(String(64), unique=True)
    refund_id: Mapped[str] = mapped_column(String(32), unique=True)
    out_trade_no: Mapped[str] = mapped_column(String(32), index=True)
    amount_cents: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
