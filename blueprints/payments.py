"""Alipay: send the traveller to pay, take the gateway's notification, welcome them back."""

import logging

from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask_login import current_user, login_required

from extensions import csrf
from gateways import providers
from rules.ordering import guest_topup, orders
from rules.payments import payment_events, unsigned_notifications
from web.rendering import render_page
from web.request_guard import body_limit

bp = Blueprint("payments", __name__)
log = logging.getLogger(__name__)
MAX_NOTIFICATION_BYTES = 16 * 1024  # a real one is about 1.5 KB
METHOD = "alipay"  # the payment method whose cashier, notifications and returns these URLs serve


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
    url = providers.provider(METHOD).start_payment(
        order,
        return_url=_external("payments.alipay_return"),
        notify_url=_external("payments.alipay_notify"),
        quit_url=_external("account_orders.status", number=order.number),
    )
    return redirect(url, code=303)


@bp.post("/payments/alipay/notify")
@csrf.exempt  # protected by the gateway's RSA2 signature instead
@body_limit(MAX_NOTIFICATION_BYTES)  # chunked bodies too: a larger one is refused with 413 unread
def alipay_notify():
    """The gateway's asynchronous notification: `success` once applied (or already applied).

    Only a signed one is handled and kept whole. Unsigned posts are kept as a bounded sample per
    sender, and past that refused with 429; a signed one is never limited.
    """
    raw = request.get_data(as_text=True)
    params = dict(request.form.items())
    if not providers.provider(METHOD).verify(params):
        outcome = payment_events.unsigned_outcome(params, METHOD)
        if not unsigned_notifications.record(params, raw, request.remote_addr, outcome, METHOD):
            return "fail", 429, {"Content-Type": "text/plain"}
        log.warning(
            "unsigned payment notification (%s) from %s for %s",
            outcome,
            request.remote_addr,
            params.get("out_trade_no"),
        )
        return "fail", 400, {"Content-Type": "text/plain"}
    if payment_events.handle_notification(params, raw, METHOD, ip=request.remote_addr):
        return "success", 200, {"Content-Type": "text/plain"}
    return "fail", 400, {"Content-Type": "text/plain"}


@bp.get("/payments/alipay/return")
def alipay_return():
    """The browser back from the cashier. Its signature is checked, but it never marks anything paid."""
    try:
        order = payment_events.browser_returned(request.args.to_dict(), METHOD)
    except payment_events.ReturnRefused:
        return render_page("payments/return_refused.html", status=400)
    if order is None:
        abort(404)
    if order.account_id is None:  # topped up without signing in: its own page opens with its token
        return redirect(guest_topup.status_path(order), code=303)
    return redirect(url_for("account_orders.status", number=order.number), code=303)
