"""An order's states, the moves between them, their groups and their names for people.

    pending_payment → paid → fulfilled
    pending_payment → expired | cancelled
    paid → needs_attention → fulfilled | refunded   (the carrier failed MAX_FULFIL_ATTEMPTS times)
    paid → to_add_by_hand → fulfilled | refunded    (CARRIER=manual: staff add the data)
    paid | fulfilled → refunded                     (partial refunds are Refund rows; the state stays)

The stored values are models.OrderState (the data layer, which gateways may read too); the moves
and groups are here. Rules, views, jobs and templates all test states through them (a Jinja global
too). The database refuses any other value (a CHECK constraint).
"""

from flask_babel import lazy_gettext as _l

from models import OrderState  # the stored values live with the data; the moves and groups here

# Groups. Members of a StrEnum are equal to (and hash like) their strings, so `order.state in PAYABLE`
# works whether the column was just loaded (a str) or set in code (an OrderState).
S = OrderState
ALL = tuple(OrderState)
# The traveller may still pay (if pay_by has not passed: see orders.payable()).
PAYABLE = frozenset({S.PENDING_PAYMENT})
# Unpaid and over: nothing was charged; the promo code use was given back.
UNPAID_ENDED = frozenset({S.EXPIRED, S.CANCELLED})
# Paid, data not on the card yet: the paid SMS is out, the pack is queued ahead of new ones.
IN_PROGRESS = frozenset({S.PAID, S.NEEDS_ATTENTION, S.TO_ADD_BY_HAND})
# Nothing more will happen by itself: the order page stops polling.
FINAL = frozenset({S.FULFILLED, S.EXPIRED, S.CANCELLED, S.REFUNDED})
# Staff must act (retry, add the data by hand, or refund).
WAITING_FOR_STAFF = frozenset({S.NEEDS_ATTENTION, S.TO_ADD_BY_HAND})
# Money was taken: there is a receipt.
RECEIPT = frozenset({S.PAID, S.NEEDS_ATTENTION, S.TO_ADD_BY_HAND, S.FULFILLED, S.REFUNDED})
# May move to refunded.
REFUNDABLE = frozenset({S.PAID, S.NEEDS_ATTENTION, S.TO_ADD_BY_HAND, S.FULFILLED})
# Orders whose promo code use counts against a traveller's per-account limit (a refunded one does not).
HOLDING_PROMOTION = frozenset({S.PENDING_PAYMENT, *IN_PROGRESS, S.FULFILLED})

ALLOWED: dict[str, frozenset[OrderState]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.EXPIRED, S.CANCELLED}),
    S.PAID: frozenset({S.FULFILLED, S.NEEDS_ATTENTION, S.TO_ADD_BY_HAND, S.REFUNDED}),
    S.NEEDS_ATTENTION: frozenset({S.FULFILLED, S.REFUNDED}),
    S.TO_ADD_BY_HAND: frozenset({S.FULFILLED, S.REFUNDED}),
    S.FULFILLED: frozenset({S.REFUNDED}),
}

STATE_NAMES = {
    S.PENDING_PAYMENT: _l("Waiting for payment"),
    S.PAID: _l("Paid"),
    S.NEEDS_ATTENTION: _l("Paid, taking longer"),
    S.TO_ADD_BY_HAND: _l("Paid, being added"),
    S.FULFILLED: _l("Data added"),
    S.EXPIRED: _l("Expired"),
    S.CANCELLED: _l("Cancelled"),
    S.REFUNDED: _l("Refunded"),
}
