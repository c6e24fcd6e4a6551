"""A traveller's orders: live state after paying, the receipt, and the public receipt check."""

from flask import Blueprint, abort, flash, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from extensions import db
from gateways import alipay_gateway
from models import Order
from rules import orders, payment_events, receipts
from web.forms import EmptyForm
from web.rendering import redirect_after_post, render_page

bp = Blueprint("account_orders", __name__)
FINAL_STATES = {"fulfilled", "expired", "cancelled", "refunded"}


def _own_order_or_404(number: str) -> Order:
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
        final=order.state in FINAL_STATES,
        cancel_form=EmptyForm(),
        fragments={"order-state": "order_state"},
    )


@bp.get("/orders/<number>/receipt")
@login_required
def receipt(number: str):
    """The receipt, for the screen and for print."""
    order = _own_order_or_404(number)
    if order.state not in receipts.RECEIPT_STATES:
        abort(404)
    url = receipts.verification_url(order)
    return render_page("account_orders/receipt.html", order=order, qr=receipts.qr_svg(url), verify_url=url)


@bp.get("/receipts/<number>/<token>")
def verify_receipt(number: str, token: str):
    """Public: says whether a receipt is genuine, and nothing personal."""
    order = db.session.scalars(select(Order).where(Order.number == number[:20])).first()
    genuine = (
        order is not None
        and order.state in receipts.RECEIPT_STATES
        and receipts.token_matches(order.number, token[:64])
    )
    return render_page("account_orders/verify.html", order=order if genuine else None, status=200 if genuine else 404)


@bp.get("/orders")
@login_required
def index():
    """The traveller's orders, newest first, each with its state and receipt."""
    return render_page("account_orders/index.html", orders=orders.for_account(current_user))


@bp.post("/orders/<number>/cancel")
@login_required
def cancel(number: str):
    """Cancel an unpaid order: its trade is closed at the gateway first, so it cannot be paid later."""
    order = _own_order_or_404(number)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if order.state == "pending_payment":
        try:
            ended = payment_events.close_unpaid(order, "traveller", end=orders.cancel)
            db.session.commit()
            # Not "nothing was charged": a cashier URL kept from before stays payable until its time_expire.
            cancelled = _("Order cancelled. If you pay a link you kept, we'll refund it automatically.")
            flash(cancelled if ended else _("This order was already paid."))
        except alipay_gateway.GatewayError:
            db.session.rollback()
            flash(_("We could not reach Alipay to cancel. Please try again in a minute."), "error")
    if order.state == "paid":
        payment_events.fulfil_now(order.number, "traveller")
    return redirect_after_post(url_for("account_orders.status", number=order.number))
