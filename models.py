"""Database models. Money is integer cents with a currency code; times are stored in UTC."""

import secrets
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, validates

from extensions import db


def utcnow() -> datetime:
    # Naive UTC: SQLite keeps no zone, so both databases store the same thing.
    return datetime.now(UTC).replace(tzinfo=None)


def new_token() -> str:
    return secrets.token_urlsafe(16)


class OrderState(StrEnum):
    """An order's states, stored as these strings (rules.ordering.order_states has the moves and groups)."""

    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    NEEDS_ATTENTION = "needs_attention"
    TO_ADD_BY_HAND = "to_add_by_hand"
    FULFILLED = "fulfilled"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


# The other stored codes. Members of a StrEnum equal their strings, so rows read back compare with them,
# and the staff pages name each (blueprints/staff/labels.py; a test checks every member has a name).


class TransitionCause(StrEnum):
    """Who or what moved an order (OrderTransition.cause)."""

    CHECKOUT = "checkout"
    NOTIFICATION = "notification"
    QUERY_JOB = "query_job"
    RETURN_PAGE = "return_page"
    STAFF = "staff"
    JOB = "job"
    TRAVELLER = "traveller"
    COUNTER = "counter"


class RefundStatus(StrEnum):
    REQUESTED = "requested"  # not confirmed by the gateway yet: retried until done
    DONE = "done"
    FAILED = "failed"


class RefundReason(StrEnum):
    """Why money went back automatically (staff refunds carry the staff member's own words)."""

    PAID_AFTER_CANCEL = "paid_after_cancel"
    PAID_AFTER_EXPIRY = "paid_after_expiry"
    SECOND_PAYMENT = "second_payment"


class RefundRequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class SmsStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed by a sender, who is talking to the provider
    SENT = "sent"
    FAILED = "failed"


class ReconciliationStatus(StrEnum):
    RUNNING = "running"  # claimed by a worker
    MATCHED = "matched"  # no difference
    DIFFERENCES = "differences"
    NOT_READY = "not_ready"  # the gateway's bill is not out yet: asked again later
    FAILED = "failed"


class DifferenceKind(StrEnum):
    MISSING_IN_OURS = "missing_in_ours"
    MISSING_AT_GATEWAY = "missing_at_gateway"
    AMOUNT_DIFFERS = "amount_differs"


class NotificationOutcome(StrEnum):
    """What came of one payment notification (PaymentNotification.outcome)."""

    PAID = "paid"
    DUPLICATE = "duplicate"
    IGNORED_STATUS = "ignored_status"  # TRADE_CLOSED and the like: our own records lead
    REFUND_PAID_AFTER_CANCEL = "refund:paid_after_cancel"
    REFUND_PAID_AFTER_EXPIRY = "refund:paid_after_expiry"
    REFUND_SECOND_PAYMENT = "refund:second_payment"
    NEEDS_STAFF = "needs_staff"
    MISSING_FIELDS = "missing_fields"
    BAD_SIGNATURE = "bad_signature"
    STALE = "stale"  # signed, but its timestamp is outside the provider's tolerance: a replay
    UNDECRYPTABLE = "undecryptable"  # its encrypted resource does not open with our key
    WRONG_APP_ID = "wrong_app_id"
    WRONG_SELLER_ID = "wrong_seller_id"
    UNKNOWN_ORDER = "unknown_order"
    BAD_AMOUNT = "bad_amount"
    AMOUNT_MISMATCH = "amount_mismatch"
    ERROR = "error"  # applying it failed; the gateway sends it again


def check_constraint_sql(column: str = "state") -> str:
    """The CHECK constraint on orders.state, as the model declares it. Each migration writes out its
    own list instead: a migration is a snapshot and must not change when a state is added later."""
    return f"{column} IN (" + ", ".join(f"'{state.value}'" for state in OrderState) + ")"


class Account(UserMixin, db.Model):
    """A traveller, known by a mobile number in E.164 form."""

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    locale: Mapped[str | None] = mapped_column(String(10))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Part of the session id: changing it signs out every old session of this account.
    session_token: Mapped[str] = mapped_column(String(32), default=new_token)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    payment_method: Mapped[str | None] = mapped_column(String(20))  # the last one chosen, offered first

    cards: Mapped[list["Card"]] = relationship(back_populates="account", order_by="Card.id")

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"


class LoginCode(db.Model):
    """A one-time code texted to a number, kept only as a keyed hash.

    `purpose`: sign_in, or bind_card (proof that `account_id`'s traveller holds the card's number).
    `ip`: the requesting address, so limits per address are counted here, the same for every worker.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    purpose: Mapped[str] = mapped_column(String(10), default="sign_in", server_default="sign_in")
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    ip: Mapped[str | None] = mapped_column(String(45), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None]


class TopUpAttempt(db.Model):
    """One try to open the top-up without signing in (number + last ICCID digits), kept so the
    limits per number and per address are counted in the database, the same for every app server."""

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    ip: Mapped[str | None] = mapped_column(String(45))
    ok: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Card(db.Model):
    """A roaming SIM card. The row outlives bindings so orders and packs keep their card."""

    id: Mapped[int] = mapped_column(primary_key=True)
    msisdn: Mapped[str] = mapped_column(String(20), unique=True)
    # NULL when a later proof of possession gave this ICCID to another number (see card_binding).
    iccid: Mapped[str | None] = mapped_column(String(20), unique=True)
    # The ICCID backwards, kept by the ORM: staff type its last digits, and a prefix range on this
    # column is an index search on every database (SQLite has no reverse() to index).
    iccid_reversed: Mapped[str | None] = mapped_column(String(20), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    nickname: Mapped[str | None] = mapped_column(String(40))
    bound_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    account: Mapped[Account | None] = relationship(back_populates="cards")
    packs: Mapped[list["CardPack"]] = relationship(back_populates="card", order_by="CardPack.starts_at")

    @validates("iccid")
    def _keep_reversed(self, _key: str, value: str | None) -> str | None:
        self.iccid_reversed = value[::-1] if value else None
        return value


class Plan(db.Model):
    """A data pack on sale. Plans are data: operators edit them without code changes."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_en: Mapped[str] = mapped_column(String(80))
    name_zh_hans: Mapped[str] = mapped_column(String(80))
    name_zh_hant: Mapped[str] = mapped_column(String(80))
    region: Mapped[str] = mapped_column(String(10))  # hk | hk_cn | hk_cn_mo
    days: Mapped[int]
    data_mb: Mapped[int | None]  # None: unlimited, subject to fair use
    fair_use_mb: Mapped[int | None]
    voice_minutes: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3), default="HKD")
    price_cents: Mapped[int]
    sale_price_cents: Mapped[int | None]
    sale_starts_at: Mapped[datetime | None]
    sale_ends_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)


class SmsMessage(db.Model):
    """The SMS outbox: every message is a row, sent by a job, never twice."""

    id: Mapped[int] = mapped_column(primary_key=True)
    to_phone: Mapped[str] = mapped_column(String(20), index=True)
    body: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(20))  # login_code | order_paid | ...
    # Set when a message must exist at most once (e.g. "order RR… paid").
    dedupe_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="queued")  # SmsStatus
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class Promotion(db.Model):
    """A promo code. Uses are reserved by pending orders and released when they expire.

    It takes off either a percentage or a fixed amount: exactly one of the two is set.
    """

    __table_args__ = (
        CheckConstraint(
            "(percent_off IS NULL) <> (amount_off_cents IS NULL)"
            " AND (percent_off IS NULL OR percent_off BETWEEN 0 AND 100)"
            " AND (amount_off_cents IS NULL OR amount_off_cents >= 0)",
            name="ck_promotion_one_discount",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    percent_off: Mapped[int | None]  # 0-100
    amount_off_cents: Mapped[int | None]  # in the plan's currency
    min_spend_cents: Mapped[int] = mapped_column(default=0)
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    max_uses: Mapped[int | None]
    max_uses_per_account: Mapped[int | None]
    uses_reserved: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    @property
    def kind(self) -> str:
        return "percent" if self.percent_off is not None else "fixed"


class Order(db.Model):
    """One top-up of one card with one plan. State changes only through orders.transition()."""

    __tablename__ = "orders"  # ORDER is an SQL keyword
    __table_args__ = (
        CheckConstraint(check_constraint_sql(), name="ck_orders_state"),
        CheckConstraint("start_mode IN ('now', 'after_current')", name="ck_orders_start_mode"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("card.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    promotion_id: Mapped[int | None] = mapped_column(ForeignKey("promotion.id"))
    state: Mapped[str] = mapped_column(String(20), default=OrderState.PENDING_PAYMENT, index=True)
    currency: Mapped[str] = mapped_column(String(3))
    price_cents: Mapped[int]
    discount_cents: Mapped[int] = mapped_column(default=0)
    total_cents: Mapped[int]
    refunded_cents: Mapped[int] = mapped_column(default=0)
    validity_start: Mapped[datetime]
    validity_end: Mapped[datetime]
    # now: the pack replaces the one running (rules/start_modes); after_current: queued after the card's packs.
    start_mode: Mapped[str] = mapped_column(String(15), default="after_current", server_default="after_current")
    locale: Mapped[str] = mapped_column(String(10), default="en")
    # "card:plan" while unpaid, NULL after: the unique index allows one unpaid order per card and plan.
    pending_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    payment_method: Mapped[str | None] = mapped_column(String(20))
    trade_no: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    pay_by: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    fulfilled_at: Mapped[datetime | None]
    fulfil_attempts: Mapped[int] = mapped_column(default=0)
    next_check_at: Mapped[datetime | None] = mapped_column(index=True)

    card: Mapped[Card] = relationship()
    plan: Mapped[Plan] = relationship()
    account: Mapped[Account | None] = relationship()
    promotion: Mapped[Promotion | None] = relationship()
    transitions: Mapped[list["OrderTransition"]] = relationship(back_populates="order", order_by="OrderTransition.id")
    refunds: Mapped[list["Refund"]] = relationship(back_populates="order", order_by="Refund.id")

    @property
    def cashier_url_payable(self) -> bool:
        """A signed cashier URL made for this order can still be paid: Alipay honours it until pay_by."""
        return self.pay_by > utcnow()


class OrderTransition(db.Model):
    """The order's timeline: every change of state with its cause."""

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    cause: Mapped[str] = mapped_column(String(20))  # one of rules.ordering.orders.CAUSES
    details: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Who did it, when cause is "staff" (NULL for the system and for travellers).
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))

    order: Mapped[Order] = relationship(back_populates="transitions")
    staff: Mapped["StaffUser | None"] = relationship()


class Refund(db.Model):
    """A full or partial refund, idempotent at the gateway by its request number.

    A refund stays `requested` (shown as "in progress") until the gateway confirms it (`done`); the
    jobs worker retries it with backoff until then, keeping the last error for staff.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    out_request_no: Mapped[str] = mapped_column(String(64), unique=True)
    amount_cents: Mapped[int]
    # Why: paid_after_cancel | paid_after_expiry | second_payment (automatic), or staff's words.
    reason: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="requested", index=True)  # requested | done | failed
    # The gateway trade refunded; NULL: the order's own trade (Order.trade_no).
    trade_no: Mapped[str | None] = mapped_column(String(64), index=True)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(200))
    next_attempt_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # alipay: paid back through the gateway; counter: handed back at a counter (recorded done, never sent).
    method: Mapped[str] = mapped_column(String(20), default="alipay", server_default="alipay")

    order: Mapped[Order] = relationship(back_populates="refunds")

    @property
    def in_progress(self) -> bool:
        return self.status != "done"


class CounterPayment(db.Model):
    """Money taken at a counter for an order (Order.payment_method "counter:<method>", no trade_no).

    `request_id` comes from the staff form: a double submit or a retry names the same payment.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    method: Mapped[str] = mapped_column(String(20))  # cash | card | alipayhk_qr | wechat_qr
    location: Mapped[str] = mapped_column(String(80))
    staff_reference: Mapped[str | None] = mapped_column(String(80))
    staff_username: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The location record (rows from before locations were records keep only their `location` text).
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"), index=True)
    hk_day: Mapped[date | None]  # the Hong Kong day whose takings it joins (LocationDay)
    id_kind: Mapped[str | None] = mapped_column(String(20))  # the ID the traveller showed: its kind...
    id_last4: Mapped[str | None] = mapped_column(String(4))  # ...and its last 4 characters, never more

    order: Mapped[Order] = relationship()


class CatalogueVersion(db.Model):
    """One row: bumped on every change to plans or promotions, so every worker's page cache notices."""

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=0, server_default="0")
    changed_at: Mapped[datetime | None]


class PaymentNotification(db.Model):
    """Every signed asynchronous notification, kept whole; unsigned ones only as a bounded sample."""

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(10), default="alipay")
    out_trade_no: Mapped[str | None] = mapped_column(String(64), index=True)
    body: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(45))  # the sender, for limiting unsigned ones
    # Unsigned ones beyond the hourly sample are not kept, only counted on the last kept row.
    repeats: Mapped[int] = mapped_column(default=0, server_default="0")


class CardPack(db.Model):
    """Data added to a card by the carrier for one order (at most once per order)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("card.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), unique=True)
    data_mb: Mapped[int | None]
    used_mb: Mapped[int] = mapped_column(default=0)
    # The simulated carrier's own count of voice minutes used (a real carrier keeps it on its side).
    voice_used_minutes: Mapped[int] = mapped_column(default=0, server_default="0")
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    card: Mapped[Card] = relationship(back_populates="packs")
    order: Mapped["Order | None"] = relationship()


class ReminderSetting(db.Model):
    """A traveller's opt-in to reminder texts for one card (off unless this row says on).

    Kept for the account that chose it: a card bound to someone else later is not reminded for them.
    `next_check_at`: when the jobs worker looks at this card again (quiet hours push it to 08:00).
    """

    __table_args__ = (UniqueConstraint("card_id", "account_id", name="uq_reminder_setting_card_account"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("card.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    locale: Mapped[str] = mapped_column(String(10), default="en")  # the reminders' language
    next_check_at: Mapped[datetime | None] = mapped_column(index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    card: Mapped[Card] = relationship()


class RenewLink(db.Model):
    """The short link in a reminder (/r/<token>): opens the renew flow for this card, for this account only."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(24), unique=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("card.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    card: Mapped[Card] = relationship()


class UsageReading(db.Model):
    """One reading per card per Hong Kong day: the data used on all its packs so far (for forecasts)."""

    __table_args__ = (UniqueConstraint("card_id", "day", name="uq_usage_reading_card_day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("card.id"))
    day: Mapped[date]  # Hong Kong date
    used_mb: Mapped[int]
    read_at: Mapped[datetime] = mapped_column(default=utcnow)


class CarrierReading(db.Model):
    """The carrier's last answer for a card, kept briefly: a real carrier is slow and rate-limited.

    In the database so every worker shares it. `answer` is the balance as JSON (rules.travellers.usage).
    """

    card_id: Mapped[int] = mapped_column(ForeignKey("card.id"), primary_key=True)
    read_at: Mapped[datetime]
    answer: Mapped[str] = mapped_column(Text)


Index("ix_sms_queue", SmsMessage.status, SmsMessage.id)
Index("ix_payment_notification_ip_received", PaymentNotification.ip, PaymentNotification.received_at)
Index("ix_top_up_attempt_phone_created", TopUpAttempt.phone, TopUpAttempt.created_at)
Index("ix_top_up_attempt_ip_created", TopUpAttempt.ip, TopUpAttempt.created_at)


# --- staff ------------------------------------------------------------------------------------


class StaffUser(db.Model):
    """A member of staff: separate from travellers, with a role and (for supervisors and admins) TOTP."""

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))  # Argon2id
    role: Mapped[str] = mapped_column(String(10))  # agent | supervisor | admin
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled: Mapped[bool] = mapped_column(default=False)
    # The 30-second step of the last code accepted: a code is never accepted twice.
    totp_last_step: Mapped[int | None]
    # Part of every staff session: changing it (sign-out, disable) ends every open session at once.
    session_token: Mapped[str] = mapped_column(String(32), default=new_token)
    disabled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))  # a partner's one location


class StaffLoginAttempt(db.Model):
    """A failed staff sign-in (password or code), counted per username and per address for the limits."""

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), index=True)
    ip: Mapped[str | None] = mapped_column(String(45), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class AuditEntry(db.Model):
    """What a member of staff did, append-only: the ORM refuses to update or delete a row (see below)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), index=True)
    username: Mapped[str] = mapped_column(String(40))  # as it was: kept even if the account changes
    role: Mapped[str] = mapped_column(String(10))
    action: Mapped[str] = mapped_column(String(40))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    before: Mapped[str | None] = mapped_column(Text)  # JSON
    after: Mapped[str | None] = mapped_column(Text)  # JSON
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class StaffNote(db.Model):
    """A note that staff keep on an order (e.g. what the traveller said at the counter)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    staff: Mapped[StaffUser] = relationship()


class RefundRequest(db.Model):
    """An agent asks a supervisor to refund part or all of an order; the supervisor approves (the refund is
    made once, its request id derived from this row) or rejects it with a reason."""

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    amount_cents: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)  # pending | approved | rejected
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[Order] = relationship()
    requested_by: Mapped[StaffUser] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[StaffUser | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def age(self) -> timedelta:
        return utcnow() - self.created_at


class GatewayCall(db.Model):
    """A question asked of a payment provider about an order (trade.query), with what it answered."""

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    provider: Mapped[str] = mapped_column(String(10), default="alipay", server_default="alipay")
    api: Mapped[str] = mapped_column(String(30))
    cause: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def _refuse_audit_change(mapper, connection, target) -> None:
    raise PermissionError("audit entries are append-only: they are never updated or deleted")


event.listen(AuditEntry, "before_update", _refuse_audit_change)
event.listen(AuditEntry, "before_delete", _refuse_audit_change)


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_audit_change(state) -> None:
    """Bulk UPDATE/DELETE through the ORM (session.execute(update(AuditEntry)…)) is refused too."""
    if (state.is_update or state.is_delete) and state.bind_mapper is AuditEntry.__mapper__:
        raise PermissionError("audit entries are append-only: they are never updated or deleted")


class Reconciliation(db.Model):
    """One Hong Kong day's comparison of the gateway's trade bill with our ledger (one row per day).

    status: running (claimed by a worker) | matched (no difference) | differences | not_ready
    (the gateway has no bill yet: tried again later) | failed (last_error says why).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(unique=True)
    status: Mapped[str] = mapped_column(String(12), default="running")
    ran_at: Mapped[datetime] = mapped_column(default=utcnow)
    matched_count: Mapped[int] = mapped_column(default=0)
    gateway_count: Mapped[int] = mapped_column(default=0)  # lines in the gateway's bill
    ours_count: Mapped[int] = mapped_column(default=0)  # payments and refunds in our ledger
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))

    differences: Mapped[list["ReconciliationDifference"]] = relationship(
        back_populates="reconciliation", order_by="ReconciliationDifference.id", cascade="all, delete-orphan"
    )
    bills: Mapped[list["ReconciliationBill"]] = relationship(
        back_populates="reconciliation", order_by="ReconciliationBill.id", cascade="all, delete-orphan"
    )


class ReconciliationBill(db.Model):
    """One payment method's bill in a day's reconciliation: each provider's bill is compared with our
    ledger of that method on its own, so one that is not ready or fails leaves the others compared.

    status: matched | differences | not_ready | failed (last_error says why).
    """

    __table_args__ = (UniqueConstraint("reconciliation_id", "provider", name="uq_reconciliation_bill_provider"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reconciliation_id: Mapped[int] = mapped_column(ForeignKey("reconciliation.id"), index=True)
    provider: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12))
    matched_count: Mapped[int] = mapped_column(default=0)
    gateway_count: Mapped[int] = mapped_column(default=0)
    ours_count: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))

    reconciliation: Mapped[Reconciliation] = relationship(back_populates="bills")


class ReconciliationDifference(db.Model):
    """One line that does not match: missing_in_ours | missing_at_gateway | amount_differs."""

    id: Mapped[int] = mapped_column(primary_key=True)
    reconciliation_id: Mapped[int] = mapped_column(ForeignKey("reconciliation.id"), index=True)
    provider: Mapped[str] = mapped_column(String(10), default="alipay", server_default="alipay")  # whose bill
    kind: Mapped[str] = mapped_column(String(20))
    order_number: Mapped[str | None] = mapped_column(String(64))
    trade_no: Mapped[str | None] = mapped_column(String(64))
    refund_no: Mapped[str | None] = mapped_column(String(64))
    our_cents: Mapped[int | None]
    their_cents: Mapped[int | None]

    reconciliation: Mapped[Reconciliation] = relationship(back_populates="differences")


class Location(db.Model):
    """A place to renew in person: a carrier shop, a partner store or an airport counter.

    Never deleted: closing it for good sets closed_at. `version` goes up with every edit (a conditional
    UPDATE), so a counter payment confirmed against the old details is refused, not recorded.
    `hours` is the weekly text rules.shops.hours parses ("Mon-Fri 09:00-21:00; Sat-Sun 10:00-02:00").
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # carrier_shop | partner_store | airport_counter
    district: Mapped[str] = mapped_column(String(30))
    name_en: Mapped[str] = mapped_column(String(120))
    name_zh_hans: Mapped[str] = mapped_column(String(120))
    name_zh_hant: Mapped[str] = mapped_column(String(120))
    address_en: Mapped[str] = mapped_column(String(300))
    address_zh_hans: Mapped[str] = mapped_column(String(300))
    address_zh_hant: Mapped[str] = mapped_column(String(300))
    hours: Mapped[str] = mapped_column(String(200))
    open_on_holidays: Mapped[bool] = mapped_column(default=True)  # with Sunday's hours
    temporarily_closed: Mapped[bool] = mapped_column(default=False)
    renews: Mapped[bool] = mapped_column(default=True)
    sells_sims: Mapped[bool] = mapped_column(default=False)
    takes_cash: Mapped[bool] = mapped_column(default=True)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    version: Mapped[int] = mapped_column(default=1)
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LocationDay(db.Model):
    """One location's takings for one Hong Kong day, by method; closed once (closed_at), never changed after.

    A counter payment adds to it with a conditional UPDATE (`closed_at IS NULL`); closing is a conditional
    UPDATE too, so a payment and a close never both win and the closed figures are the row's figures.
    """

    __tablename__ = "location_day"
    __table_args__ = (UniqueConstraint("location_id", "day", name="uq_location_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    day: Mapped[date]
    cash_cents: Mapped[int] = mapped_column(default=0)
    card_cents: Mapped[int] = mapped_column(default=0)
    qr_cents: Mapped[int] = mapped_column(default=0)
    payments: Mapped[int] = mapped_column(default=0)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(40))

    location: Mapped[Location] = relationship()


class DayCorrection(db.Model):
    """A late correction to a closed day: a new row (and an audit entry), the closed figures untouched."""

    __tablename__ = "day_correction"

    id: Mapped[int] = mapped_column(primary_key=True)
    location_day_id: Mapped[int] = mapped_column(ForeignKey("location_day.id"), index=True)
    method: Mapped[str] = mapped_column(String(10))  # cash | card | qr
    amount_cents: Mapped[int]  # signed: less taken than closed is negative
    reason: Mapped[str] = mapped_column(String(200))
    staff_username: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Staff's order search (rules.staff.order_search): newest first, alone or within a card, an account or a state.
Index("ix_orders_created", Order.created_at, Order.id)
Index("ix_orders_card_created", Order.card_id, Order.created_at, Order.id)
Index("ix_orders_account_created", Order.account_id, Order.created_at, Order.id)
Index("ix_orders_state_created", Order.state, Order.created_at, Order.id)
# Reconciliation reads one Hong Kong day of payments and refunds.
Index("ix_orders_paid_at", Order.paid_at)
Index("ix_refund_done_at", Refund.done_at)
