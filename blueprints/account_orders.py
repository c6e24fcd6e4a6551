"""A traveller's orders: live state after paying, the receipt, and the public receipt check."""

from flask import Blueprint, abort, flash, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from rules.ordering import order_states, orders, receipts
from rules.payments import payment_events
from rules.payments.payment_events import CancelOutcome
from web.forms import EmptyForm
from web.rendering import redirect_after_post, render_page

bp = Blueprint("account_orders", __name__)
CANCEL_MESSAGES = {
    # Not "nothing was charged": a cashier URL kept from before stays payable until its time_expire.
    CancelOutcome.CANCELLED: (
        _l("Order cancelled. If you pay a link you kept, we'll refund it automatically."),
        "message",
    ),
    CancelOutcome.ALREADY_PAID: (_l("This order was already paid."), "message"),
    CancelOutcome.GATEWAY_DOWN: (
        _l("We could not reach the payment service to cancel. Please try again in a minute."),
        "error",
    ),
}


def _own_order_or_404(number: str):
    order = orders.find_for_account(number[:20], current_user)
    if order is None:
        abort(404)
    return order


@bp.get("/orders/<number>")
@login_required
def status(number: str):
    """The order's live state: waiting for payment, paid, data added (polled by htmx every 2 s)."""
    order = _own_order_or_404(number)
    return render_page(
        "account_orders/status.html",
        order=order,
        final=order.state in order_states.FINAL,
        payable=orders.payable(order),
        cancel_form=EmptyForm(),
        fragments={"order-state": "order_state"},
    )


@bp.get("/orders/<number>/receipt")
@login_required
def receipt(number: str):
    """The receipt, for the screen and for print."""
    order = _own_order_or_404(number)
    if order.state not in order_states.RECEIPT:
        abort(404)
    url = receipts.verification_url(order)
    return render_page("account_orders/receipt.html", order=order, qr=receipts.qr_svg(url), verify_url=url)


@bp.get("/receipts/<number>/<token>")
def verify_receipt(number: str, token: str):
    """Public: says whether a receipt is genuine, and nothing personal."""
    order = receipts.genuine_order(number[:20], token[:64])
    return render_page("account_orders/verify.html", order=order, status=200 if order else 404)


@bp.get("/orders")
@login_required
def index():
    """The traveller's orders, newest first, each with its state and receipt."""
    return render_page("account_orders/index.html", orders=orders.for_account(current_user))


@bp.post("/orders/<number>/cancel")
@login_required
def cancel(number: str):
    """Cancel an unpaid order (the rule closes its trade at the gateway first)."""
    order = _own_order_or_404(number)
    if not EmptyForm().validate_on_submit():
        abort(400)
    message = CANCEL_MESSAGES.get(payment_events.cancel_by_traveller(order))
    if message is not None:
        flash(str(message[0]), message[1])
    return redirect_after_post(url_for("account_orders.status", number=order.number))
