"""After payment: the confirmation SMS (once) and the data on the card (retried until it is there)."""

import logging
from typing import cast

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import update
from sqlalchemy.engine import CursorResult

from extensions import db
from gateways import carrier, sms
from models import Order, utcnow
from rules import formatting, locales, orders

log = logging.getLogger(__name__)


def queue_confirmation(order: Order) -> None:
    """The "paid" SMS to the card's number, in the traveller's language, never twice."""
    with force_locale(order.locale):
        body = _(
            "RoamRenew: order %(number)s paid, %(amount)s. %(plan)s is being added to %(phone)s.",
            number=order.number,
            amount=formatting.money(order.total_cents, order.currency),
            plan=locales.localized_name(order.plan),
            phone=formatting.mask_phone(order.card.msisdn),
        )
    sms.queue(order.card.msisdn, body, "order_paid", dedupe_key=f"order_paid:{order.number}")


def fulfil(order: Order, cause: str) -> bool:
    """Add the data for a paid order; on failure schedule a retry. The caller commits."""
    if order.state != "paid":
        return order.state == "fulfilled"
    # Claim: only one worker or request adds the data for this order at a time.
    claimed = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.state == "paid", Order.fulfil_attempts == order.fulfil_attempts)
        .values(fulfil_attempts=Order.fulfil_attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if not cast(CursorResult, claimed).rowcount:
        return False
    db.session.refresh(order)
    try:
        carrier.carrier().add_data(order)
    except carrier.CarrierUnavailable as error:
        order.next_check_at = utcnow() + carrier.retry_delay(order.fulfil_attempts)
        log.warning("adding data for order %s failed (attempt %s): %s", order.number, order.fulfil_attempts, error)
        return False
    order.next_check_at = None
    orders.transition(order, "fulfilled", cause, {"attempt": order.fulfil_attempts})
    return True
