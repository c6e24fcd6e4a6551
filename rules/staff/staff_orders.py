"""Staff ending an unpaid order (supervisors): the gateway's trade is closed first, as for a traveller.

rules.payments.payment_events.close_unpaid asks the gateway before anything changes: a payment that arrived
without its notification makes the order paid instead (ALREADY_PAID), and a gateway that cannot be
reached changes nothing (GATEWAY_DOWN). Only then is the order cancelled (orders.cancel gives its
promo code use back), with the staff member and their reason in the transition's details. That cancel is
a conditional UPDATE naming pending_payment: if a payment moved the order meanwhile, it changes nothing and
CancelRefused says what the order is now.

Use (a view):
    result = staff_orders.cancel_unpaid(order, reason, actor)
    if result.changed:
        audit.record(actor, "order.cancel", order, result.before, result.after, reason)
    db.session.commit()
    result.after_commit()
"""

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from extensions import db
from gateways import providers
from gateways.payment_methods import GatewayError
from models import Order
from rules.ordering import orders
from rules.ordering.order_states import STATE_NAMES, OrderState
from rules.payments import payment_events
from rules.payments.method_names import method_name
from rules.payments.payment_events import CancelOutcome
from rules.staff import actors

MAX_REASON = 200


class CancelRefused(ValueError):
    """str() is a message for people; nothing changed."""


@dataclass
class StaffCancel:
    order: Order
    outcome: CancelOutcome
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)

    @property
    def method(self) -> str:
        """The payment method whose trade was (or could not be) closed, in words."""
        return method_name(providers.for_order(self.order).name)

    @property
    def changed(self) -> bool:
        return self.outcome in (CancelOutcome.CANCELLED, CancelOutcome.ALREADY_PAID)

    def after_commit(self) -> None:
        """A payment found on the way is fulfilled now (the job would too)."""
        if self.order.state == OrderState.PAID:
            payment_events.fulfil_now(self.order.number, "staff")


def cancel_unpaid(order: Order, reason: str, actor) -> StaffCancel:
    """Cancel `order` if it is still unpaid, closing its trade first; the caller audits and commits.

    On GATEWAY_DOWN the session has been rolled back (nothing changed); say "try again".
    """
    username = actors.require(actor, "supervisor")
    reason = " ".join((reason or "").split())
    if not reason:
        raise CancelRefused(_l("Say why this order is cancelled."))
    if len(reason) > MAX_REASON:
        raise CancelRefused(_l("Keep the reason under %(count)s characters.", count=MAX_REASON))
    before = {"state": str(order.state)}
    if order.state != OrderState.PENDING_PAYMENT:
        return StaffCancel(order, CancelOutcome.NOT_UNPAID, before, before)

    def end(the_order: Order, cause: str) -> None:
        orders.cancel(the_order, cause, {"staff": username, "reason": reason})

    try:
        ended = payment_events.close_unpaid(order, "staff", end=end)
    except GatewayError:
        db.session.rollback()
        return StaffCancel(order, CancelOutcome.GATEWAY_DOWN, before, before)
    except orders.IllegalTransition:  # the cancel is conditional (… AND state = 'pending_payment'): it lost
        db.session.rollback()
        state = STATE_NAMES[OrderState(order.state)]
        raise CancelRefused(
            _l("The order changed meanwhile and is %(state)s now: nothing was cancelled.", state=state)
        ) from None
    outcome = CancelOutcome.CANCELLED if ended else CancelOutcome.ALREADY_PAID
    return StaffCancel(order, outcome, before, {"state": str(order.state), "reason": reason})
