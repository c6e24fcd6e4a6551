"""A traveller's orders: live state after paying, the receipt, and the public receipt check."""
from flask import Blueprint, abort
from flask_login import current_user, login_required
from sqlalchemy import select

import orders
import receipts
from extensions import db
from models import Order
from rendering import render_page

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
    return render_page("account_orders/status.html", order=order, final=order.state in FINAL_STATES,
                       fragments={"order-state": "order_state"})


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
    genuine = (order is not None and order.state in receipts.RECEIPT_STATES
               and receipts.token_matches(order.number, token[:64]))
    return render_page("account_orders/verify.html", order=order if genuine else None,
                       status=200 if genuine else 404)
