"""Online payment: send the traveller to the method's cashier, take its notifications, welcome them back.

One set of URLs per method (/payments/<method>/...), each served through the payment interface
(gateways.payment_methods): nothing here knows a method by name.
"""

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from extensions import csrf
from gateways import providers
from gateways.payment_methods import GatewayError, Incoming
from models import Order
from rules.ordering import guest_topup, orders
from rules.payments import cashiers, method_choice, payment_events
from rules.payments.payment_events import Reception
from web.rendering import render_page
from web.request_guard import body_limit

bp = Blueprint("payments", __name__)
MAX_NOTIFICATION_BYTES = 16 * 1024  # a real one is about 1.5 KB (Alipay), 1 KB (WeChat Pay), 3 KB (Stripe)


def _external(endpoint: str, **values) -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for(endpoint, **values)


def _provider(method: str):
    if method not in providers.PROVIDERS:
        abort(404)
    return providers.provider(method)


def cashier_url(order: Order, quit_url: str) -> str:
    """The signed URL of the cashier of the order's payment method; `quit_url` is where "back" leads.
    That the order was sent there is recorded first (rules.payments.cashiers): a cancel closes it there."""
    provider = cashiers.opening(order)
    return provider.start_payment(
        order,
        return_url=_external("payments.came_back", method=provider.name),
        notify_url=_external("payments.notify", method=provider.name),
        quit_url=quit_url,
    )


def _incoming(source) -> Incoming:
    headers = {name.lower(): value for name, value in request.headers.items()}
    return Incoming(form=source.to_dict(), body=request.get_data(cache=True), headers=headers)


@bp.get("/orders/<number>/pay")
@login_required
def pay(number: str):
    """Send the traveller to the cashier for an unpaid order of theirs."""
    order = orders.find_for_account(number[:20], current_user)
    if order is None:
        abort(404)
    status_url = url_for("account_orders.status", number=order.number)
    if not orders.payable(order):
        return redirect(status_url)
    return to_cashier(order, status_url, quit_url=_external("account_orders.status", number=order.number))


def to_cashier(order: Order, status_url: str, quit_url: str):
    """To the order's cashier; a browser that cannot open it (WeChat Pay inside WeChat) goes back to the
    order's page, told what to do instead."""
    blocked = method_choice.blocked_here(order.payment_method, request.user_agent.string)
    if blocked:
        flash(blocked, "error")
        return redirect(status_url, code=303)
    try:
        url = cashier_url(order, quit_url=quit_url)
    except GatewayError:  # the provider makes its cashier on request (WeChat Pay, Stripe) and did not answer
        flash(_("We could not open the payment page just now. Please try again in a minute."), "error")
        return redirect(status_url, code=303)
    return redirect(url, code=303)


@bp.post("/payments/<method>/notify")
@csrf.exempt  # protected by the provider's signature instead
@body_limit(MAX_NOTIFICATION_BYTES)  # chunked bodies too: a larger one is refused with 413 unread
def notify(method: str):
    """The provider's asynchronous notification, answered as it expects once recorded.

    Only a signed one is handled and kept whole. Unsigned posts are kept as a bounded sample per
    sender, and past that refused with 429; a signed one is never limited.
    """
    provider = _provider(method)
    reception = payment_events.receive(_incoming(request.form), method, ip=request.remote_addr)
    answer = provider.answer(reception is Reception.ACCEPTED)
    status = 429 if reception is Reception.TOO_MANY else answer.status
    return answer.body, status, {"Content-Type": answer.content_type}


@bp.get("/payments/<method>/return")
def came_back(method: str):
    """The browser back from the cashier. It never marks anything paid: the provider is asked."""
    _provider(method)
    try:
        order = payment_events.browser_returned(_incoming(request.args), method)
    except payment_events.ReturnRefused:
        return render_page("payments/return_refused.html", status=400)
    if order is None:
        abort(404)
    if order.account_id is None:  # topped up without signing in: its own page opens with its token
        return redirect(guest_topup.status_path(order), code=303)
    return redirect(url_for("account_orders.status", number=order.number), code=303)
