"""What an agent may do to an order, each written to the audit log with before, after and the reason.

Every function raises ActionRefused (str(): a message for staff) and changes nothing when the order is
not in a state for it; otherwise the caller commits, the change and its audit row together.
"""

import re
from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from extensions import db
from gateways import sms
from models import Order, OrderTransition, StaffNote, StaffUser
from rules.ordering import fulfilment, order_states, orders, receipts
from rules.staff import audit

REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_NOTE = 2000
MAX_REASON = 500
MAX_REFERENCE = 80
RESEND_KINDS = ("confirmation", "receipt")


class ActionRefused(Exception):
    """The action cannot be done now; str() says why."""


@dataclass
class Revealed:
    msisdn: str
    iccid: str | None


def _state(order: Order) -> dict:
    return {"state": order.state, "fulfil_attempts": order.fulfil_attempts}


def _attribute(order: Order, staff: StaffUser) -> None:
    """Mark the transitions this action made (not flushed yet) as done by `staff`."""
    for row in db.session.new:
        if isinstance(row, OrderTransition) and row.order is order:
            row.staff_id = staff.id


def _printable(text: str | None, keep_lines: bool = False) -> str:
    """What was typed, without control characters (PostgreSQL refuses a NUL byte in text)."""
    kept = "\n" if keep_lines else ""
    return "".join(ch for ch in (text or "") if ch.isprintable() or ch in kept)


def _reason(text: str | None, required: bool) -> str | None:
    reason = " ".join(_printable(text).split())
    if len(reason) > MAX_REASON:
        raise ActionRefused(_l("Keep the reason under %(count)s characters.", count=MAX_REASON))
    if required and len(reason) < 3:
        raise ActionRefused(_l("Say why (a few words)."))
    return reason or None


def reveal(staff: StaffUser, order: Order, reason: str | None) -> Revealed:
    """The card's full number and ICCID, shown on purpose: audited, with the reason typed."""
    why = _reason(reason, required=True)
    audit.record(staff, "reveal", order, after={"shown": ["msisdn", "iccid"]}, reason=why)
    return Revealed(order.card.msisdn, order.card.iccid)


def _receipt_body(order: Order) -> str:
    # The receipt check's token link, as counter sales text: it opens for whoever holds the card, signed
    # in or not, even when another account bought the order (the order page opens for the buyer only).
    link = receipts.verification_url(order)
    with force_locale(order.locale):
        return _("RoamRenew: the receipt for order %(number)s is at %(link)s", number=order.number, link=link)


def resend(staff: StaffUser, order: Order, kind: str, request_id: str, reason: str | None) -> bool:
    """Send the confirmation SMS or the receipt link again. One message per request id, so a double
    click sends once: False when this request was already sent."""
    if kind not in RESEND_KINDS or not REQUEST_ID.match(request_id or ""):
        raise ActionRefused(_l("This form is out of date. Open the order again."))
    if order.state not in order_states.RECEIPT:
        raise ActionRefused(_l("This order is not paid: there is nothing to resend."))
    why = _reason(reason, required=False)
    body = fulfilment.confirmation_body(order) if kind == "confirmation" else _receipt_body(order)
    message = sms.queue(order.card.msisdn, body, f"staff_{kind}", dedupe_key=f"staff_resend:{kind}:{request_id}")
    if message is None:
        return False
    db.session.flush()
    audit.record(staff, f"resend_{kind}", order, after={"sms_id": message.id}, reason=why)
    return True


def retry_fulfilment(staff: StaffUser, order: Order, reason: str | None) -> bool:
    """Try adding the data once more now (paid or needs_attention). True when the data is on the card."""
    why = _reason(reason, required=False)
    if order.state not in fulfilment.RETRYABLE:
        raise ActionRefused(_l("Only a paid order still waiting for its data can be retried."))
    before = _state(order)
    try:
        done = fulfilment.retry(order, "staff", staff_id=staff.id)  # commits: claim, carrier call, outcome
    except orders.IllegalTransition as error:
        raise ActionRefused(_l("The order changed meanwhile. Look again.")) from error
    _attribute(order, staff)
    audit.record(staff, "retry_fulfilment", order, before=before, after={**_state(order), "added": done}, reason=why)
    return done


def mark_added(staff: StaffUser, order: Order, reference: str | None, reason: str | None) -> None:
    """Staff added the data at the carrier themselves: record their reference; the order is fulfilled."""
    ref = " ".join(_printable(reference).split())
    if not ref:
        raise ActionRefused(_l("Type the carrier's reference for the data you added."))
    if len(ref) > MAX_REFERENCE:
        raise ActionRefused(_l("The carrier's reference has at most %(count)s characters.", count=MAX_REFERENCE))
    why = _reason(reason, required=False)
    if order.state != order_states.OrderState.TO_ADD_BY_HAND:
        raise ActionRefused(_l("Only an order waiting to be added by hand can be marked as added."))
    before = _state(order)
    try:
        fulfilment.added_by_hand(order, "staff", {"carrier_reference": ref, "staff": staff.username})
    except orders.IllegalTransition as error:
        raise ActionRefused(_l("The order changed meanwhile. Look again.")) from error
    _attribute(order, staff)
    audit.record(
        staff, "mark_added", order, before=before, after={**_state(order), "carrier_reference": ref}, reason=why
    )


def add_note(staff: StaffUser, order: Order, body: str | None) -> StaffNote:
    text = _printable((body or "").replace("\r\n", "\n"), keep_lines=True).strip()
    if not text:
        raise ActionRefused(_l("Write the note first."))
    if len(text) > MAX_NOTE:
        raise ActionRefused(_l("A note has at most %(count)s characters.", count=MAX_NOTE))
    note = StaffNote(order_id=order.id, staff_id=staff.id, body=text)
    db.session.add(note)
    audit.record(staff, "add_note", order, after={"note": text})
    return note
