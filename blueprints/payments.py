"""Alipay: send the traveller to pay, take the gateway's notification, welcome them back."""

from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask_login import current_user, login_required

from extensions import csrf
from gateways import alipay_gateway
from rules import orders, payment_events
from web.rendering import render_page

bp = Blueprint("payments", __name__)
MAX_NOTIFICATION_BYTES = 16 * 1024  # a real one is about 1.5 KB


def _external(endpoint: str, **values) -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for(endpoint, **values)


@bp.get("/orders/<number>/pay")
@login_required
def pay(number: str):
    """Send the traveller to the Alipay cashier for an unpaid order of theirs."""
    order = orders.find_for_account(number[:20], current_user)
    if order is None:
        abort(404)
    if not orders.payable(order):
        return redirect(url_for("account_orders.status", number=order.number))
    url = alipay_gateway.payment_url(
        order,
        return_url=_external("payments.alipay_return"),
        notify_url=_external("payments.alipay_notify"),
        quit_url=_external("account_orders.status", number=order.number),
    )
    return redirect(url, code=303)


@bp.post("/payments/alipay/notify")
@csrf.exempt  # protected by the gateway's RSA2 signature instead
def alipay_notify():
    """The gateway's asynchronous notification: `success` once applied (or already applied)."""
    if (request.content_length or 0) > MAX_NOTIFICATION_BYTES:
        return "fail", 400, {"Content-Type": "text/plain"}
    raw = request.get_data(as_text=True)
    params = dict(request.form.items())
    if payment_events.handle_notification(params, raw):
        return "success", 200, {"Content-Type": "text/plain"}
    return "fail", 400, {"Content-Type": "text/plain"}


@bp.get("/payments/alipay/return")
def alipay_return():
    """The browser back from the cashier. Its signature is checked, but it never marks anything paid."""
    try:
        order = payment_events.browser_returned(request.args.to_dict())
    except payment_events.ReturnRefused:
        return render_page("payments/return_refused.html", status=400)
    if order is None:
        abort(404)
    return redirect(url_for("account_orders.status", number=order.number), code=303)
