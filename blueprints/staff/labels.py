"""Names for people of the codes the staff pages show (causes, refund states and reasons, outcomes)."""

from datetime import timedelta

from babel.dates import format_timedelta
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

CAUSES = {
    "checkout": _l("checkout"),
    "notification": _l("gateway notification"),
    "query_job": _l("gateway query (job)"),
    "return_page": _l("return from the cashier"),
    "staff": _l("staff"),
    "job": _l("job"),
    "traveller": _l("traveller"),
}
REFUND_STATUS = {"requested": _l("in progress"), "done": _l("refunded"), "failed": _l("failed, retrying")}
REFUND_REASONS = {
    "paid_after_cancel": _l("paid after it was cancelled"),
    "paid_after_expiry": _l("paid after it expired"),
    "second_payment": _l("paid a second time"),
}
RECON_STATUS = {
    "running": _l("running"),
    "matched": _l("matched"),
    "differences": _l("differences"),
    "not_ready": _l("bill not ready"),
    "failed": _l("failed"),
}
RECON_KINDS = {
    "missing_in_ours": _l("At the gateway, not in ours"),
    "missing_at_gateway": _l("In ours, not at the gateway"),
    "amount_differs": _l("Amounts differ"),
}
NOTIFICATION_OUTCOMES = {
    "paid": _l("paid"),
    "duplicate": _l("duplicate"),
    "bad_signature": _l("bad signature"),
    "amount_mismatch": _l("amount does not match"),
    "unknown_order": _l("unknown order"),
}


def age(delta: timedelta) -> str:
    """How long, in the reader's language: "3 hours", "2 days"."""
    return format_timedelta(delta, threshold=1.5, locale=get_locale() or "en")
