"""After payment: the confirmation SMS (once) and the data on the card (retried, then handed to staff).

A paid order is never lost: when the carrier fails, the job retries with growing pauses; after
MAX_FULFIL_ATTEMPTS failures the order moves to needs_attention (the job stops; staff retry or refund).
With CARRIER=manual a paid order moves to to_add_by_hand at once, and staff record the data they added.
"""

import logging
from typing import cast

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm.attributes import set_committed_value

from extensions import db
from gateways import carrier, sms
from models import Order, utcnow
from rules.ordering import guest_topup, orders, start_modes
from rules.ordering.order_states import OrderState
from rules.text import formatting, locales

log = logging.getLogger(__name__)
MAX_FULFIL_ATTEMPTS = 5
# The states a staff retry starts from: a paid order (the job's turn has not come) or one given up on.
RETRYABLE = frozenset({OrderState.PAID, OrderState.NEEDS_ATTENTION})


def queue_confirmation(order: Order) -> None:
    """The "paid" SMS to the card's number, in the traveller's language, never twice."""
    sms.queue(order.card.msisdn, confirmation_body(order), "order_paid", dedupe_key=f"order_paid:{order.number}")


def confirmation_body(order: Order) -> str:
    """The "paid" SMS's text, in the traveller's language (staff may send it again)."""
    with force_locale(order.locale):
        body = _(
            "RoamRenew: order %(number)s paid, %(amount)s. %(plan)s is being added to %(phone)s.",
            number=order.number,
            amount=formatting.money(order.total_cents, order.currency),
            plan=locales.localized_name(order.plan),
            phone=formatting.mask_phone(order.card.msisdn),
        )
        body += " " + start_sentence(order)
        if order.account_id is None:  # no account to find it in: the link is the guest's way back
            body += " " + _("Receipt: %(url)s", url=guest_topup.receipt_url(order))
        return body


def start_sentence(order: Order) -> str:
    """When the pack runs, in the current locale; a pack started now also says the old one ends."""
    start, end = formatting.hk_time(order.validity_start), formatting.hk_time(order.validity_end)
    if order.start_mode == start_modes.NOW:
        return _("Valid %(start)s to %(end)s (HK time); any pack running before it ends then.", start=start, end=end)
    return _("Valid %(start)s to %(end)s (HK time).", start=start, end=end)


def _claim(order: Order) -> bool:
    """Only one worker or request adds the data for this order at a time: one conditional UPDATE."""
    claimed = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.state == order.state, Order.fulfil_attempts == order.fulfil_attempts)
        .values(fulfil_attempts=Order.fulfil_attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if not cast(CursorResult, claimed).rowcount:
        db.session.refresh(order)  # another worker moved it: see what it holds now
        return False
    set_committed_value(order, "fulfil_attempts", order.fulfil_attempts + 1)  # as written
    return True


def fulfil(order: Order, cause: str) -> bool:
    """Add the data for a paid order; on failure schedule a retry, or after the last one hand it to
    staff. True once the data is on the card. The caller commits."""
    if order.state != OrderState.PAID:
        return order.state == OrderState.FULFILLED
    return _add_data(order, cause)


def retry(order: Order, cause: str = "staff") -> bool:
    """Try once more now, for a paid order or one in needs_attention (staff's retry). The caller commits."""
    if order.state not in RETRYABLE:
        raise orders.IllegalTransition(f"order {order.number} is {order.state}: only paid or needs_attention")
    return _add_data(order, cause)


def _add_data(order: Order, cause: str) -> bool:
    if not _claim(order):
        return False
    # The claim is committed before the carrier is called: no lock or open write waits on the carrier
    # (rules/__init__). A second claimer sees the attempt counted and backs off.
    db.session.commit()
    try:
        carrier.carrier().add_data(order)
    except carrier.WaitsForStaff as reason:
        order.next_check_at = None
        if order.state == OrderState.PAID:
            orders.transition(order, OrderState.TO_ADD_BY_HAND, cause, {"carrier": str(reason)})
        return False
    except carrier.CarrierUnavailable as error:
        _failed(order, cause, error)
        return False
    order.next_check_at = None
    orders.transition(order, OrderState.FULFILLED, cause, {"attempt": order.fulfil_attempts})
    return True


def _failed(order: Order, cause: str, error: Exception) -> None:
    log.warning("adding data for order %s failed (attempt %s): %s", order.number, order.fulfil_attempts, error)
    if order.state == OrderState.NEEDS_ATTENTION:
        return  # a staff retry failed: it stays with staff
    if order.fulfil_attempts < MAX_FULFIL_ATTEMPTS:
        order.next_check_at = utcnow() + carrier.retry_delay(order.fulfil_attempts)
        return
    order.next_check_at = None
    details = {"reason": "carrier_failed", "attempts": order.fulfil_attempts, "last_error": str(error)[:200]}
    orders.transition(order, OrderState.NEEDS_ATTENTION, cause, details)


def added_by_hand(order: Order, cause: str = "staff", details: dict | None = None) -> None:
    """Staff added the data themselves (CARRIER=manual, or after the carrier gave up): record the pack,
    and the order is fulfilled. The caller commits."""
    if order.state not in (OrderState.TO_ADD_BY_HAND, OrderState.NEEDS_ATTENTION):
        raise orders.IllegalTransition(f"order {order.number} is {order.state}: nothing to add by hand")
    carrier.record_pack(order)
    orders.transition(order, OrderState.FULFILLED, cause, {"by_hand": True, **(details or {})})
