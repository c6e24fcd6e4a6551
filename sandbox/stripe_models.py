"""The local Stripe sandbox's own tables (sandbox mode only): its Checkout Sessions, its refunds and
the answers it keeps per Idempotency-Key. Not the app's: only sandbox/ reads them."""

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models import utcnow


class SandboxStripeSession(db.Model):
    """A Checkout Session as the sandbox Stripe keeps it; paying it makes its PaymentIntent and charge."""

    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # cs_test_…
    client_reference_id: Mapped[str | None] = mapped_column(String(200), index=True)
    metadata_json: Mapped[str] = mapped_column(Text, default="{}")
    amount_total: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))  # lower case, as Stripe writes it
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | complete | expired
    payment_status: Mapped[str] = mapped_column(String(10), default="unpaid")  # unpaid | paid
    payment_intent: Mapped[str | None] = mapped_column(String(40), unique=True)  # pi_… once paid
    success_url: Mapped[str] = mapped_column(String(500))
    cancel_url: Mapped[str | None] = mapped_column(String(500))
    locale: Mapped[str | None] = mapped_column(String(10))
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None]


class SandboxStripeRefund(db.Model):
    """A refund of a sandbox PaymentIntent (succeeded at once, as card refunds usually are)."""

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # re_…
    payment_intent: Mapped[str] = mapped_column(String(40), index=True)
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default="succeeded")
    metadata_json: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SandboxStripeRequest(db.Model):
    """A POST made with an Idempotency-Key: claimed before it runs, then its answer kept for replays."""

    idempotency_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # the request's method, path and parameters
    status: Mapped[int | None]  # None while the first request is still running
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


Index("ix_sandbox_stripe_session_created", SandboxStripeSession.created_at)
