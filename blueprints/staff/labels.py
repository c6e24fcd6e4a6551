"""Names for people of the codes the staff pages show (causes, refund states and reasons, outcomes)."""

from datetime import timedelta

from babel.dates import format_timedelta
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from models import (
    DifferenceKind,
    NotificationOutcome,
    ReconciliationStatus,
    RefundReason,
    RefundStatus,
    TransitionCause,
)
from rules.payments.refunds import REFUND_REASONS, REFUND_STATUS

CAUSES = {
    TransitionCause.CHECKOUT: _l("checkout"),
    TransitionCause.NOTIFICATION: _l("gateway notification"),
    TransitionCause.QUERY_JOB: _l("gateway query (job)"),
    TransitionCause.RETURN_PAGE: _l("return from the cashier"),
    TransitionCause.STAFF: _l("staff"),
    TransitionCause.JOB: _l("job"),
    TransitionCause.TRAVELLER: _l("traveller"),
    TransitionCause.COUNTER: _l("payment at a counter"),
}
ROLE_NAMES = {"agent": _l("agent"), "supervisor": _l("supervisor"), "admin": _l("admin")}
RECON_STATUS = {
    ReconciliationStatus.RUNNING: _l("running"),
    ReconciliationStatus.MATCHED: _l("matched"),
    ReconciliationStatus.DIFFERENCES: _l("differences"),
    ReconciliationStatus.NOT_READY: _l("bill not ready"),
    ReconciliationStatus.FAILED: _l("failed"),
}
RECON_KINDS = {
    DifferenceKind.MISSING_IN_OURS: _l("At the gateway, not in ours"),
    DifferenceKind.MISSING_AT_GATEWAY: _l("In ours, not at the gateway"),
    DifferenceKind.AMOUNT_DIFFERS: _l("Amounts differ"),
}
NOTIFICATION_OUTCOMES = {
    NotificationOutcome.PAID: _l("paid"),
    NotificationOutcome.DUPLICATE: _l("duplicate"),
    NotificationOutcome.IGNORED_STATUS: _l("not a payment (closed or refunded trade)"),
    NotificationOutcome.REFUND_PAID_AFTER_CANCEL: _l("paid after it was cancelled: refunded"),
    NotificationOutcome.REFUND_PAID_AFTER_EXPIRY: _l("paid after it expired: refunded"),
    NotificationOutcome.REFUND_SECOND_PAYMENT: _l("paid a second time: refunded"),
    NotificationOutcome.NEEDS_STAFF: _l("needs staff"),
    NotificationOutcome.MISSING_FIELDS: _l("fields missing"),
    NotificationOutcome.BAD_SIGNATURE: _l("bad signature"),
    NotificationOutcome.STALE: _l("too old: a replay"),
    NotificationOutcome.UNDECRYPTABLE: _l("does not decrypt with our key"),
    NotificationOutcome.WRONG_APP_ID: _l("not our app id"),
    NotificationOutcome.WRONG_SELLER_ID: _l("not our seller id"),
    NotificationOutcome.UNKNOWN_ORDER: _l("unknown order"),
    NotificationOutcome.BAD_AMOUNT: _l("amount unreadable"),
    NotificationOutcome.AMOUNT_MISMATCH: _l("amount does not match"),
    NotificationOutcome.ERROR: _l("could not be applied; the gateway retries"),
}
# Every stored code has a name (tests/test_staff_labels.py), so a page never shows a raw code.
LABELLED = {
    TransitionCause: CAUSES,
    RefundStatus: REFUND_STATUS,
    RefundReason: REFUND_REASONS,
    ReconciliationStatus: RECON_STATUS,
    DifferenceKind: RECON_KINDS,
    NotificationOutcome: NOTIFICATION_OUTCOMES,
}


def age(delta: timedelta) -> str:
    """How long, in the reader's language: "3 hours", "2 days"."""
    return format_timedelta(delta, threshold=1.5, locale=get_locale() or "en")
