"""Top up without signing in: the card's number twice and the last 4 ICCID digits, then the one checkout
flow of the signed-in checkout (blueprints/checkout_flow), Alipay payment and receipt. The rules are in
rules.ordering.guest_topup; the order's pages open with its token instead of an account."""

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _

from blueprints import checkout_flow, payments
from blueprints.account_orders import CANCEL_MESSAGES
from extensions import db
from models import Card, Order
from rules.ordering import guest_topup, order_states, orders, receipts
from rules.payments import payment_events
from web.forms import EmptyForm, TopUpForm
from web.rendering import PageProblem, redirect_after_post, redirect_full_page, render_page

bp = Blueprint("topup", __name__, url_prefix="/top-up")


@bp.errorhandler(PageProblem)
def show_problem(problem: PageProblem):
    return render_page("topup/problem.html", message=str(problem), status=problem.status)


@bp.route("", methods=["GET", "POST"])
def start():
    """The card's number twice and the last 4 digits of its ICCID."""
    form = TopUpForm()
    status = 200
    if form.validate_on_submit():
        try:
            card = guest_topup.find_card(
                form.number.data, form.number_again.data, form.iccid_last4.data, request.remote_addr
            )
        except guest_topup.GuestRefused as refusal:
            db.session.commit()  # a refused try counts
            getattr(form, refusal.field or "iccid_last4").errors.append(str(refusal))
            status = refusal.status
        else:
            db.session.commit()
            guest_topup.remember_card(session, card)
            return redirect_after_post(url_for("topup.review"))
    elif form.errors:
        status = 422
    form.iccid_last4.data = ""  # never shown back
    return render_page("topup/start.html", form=form, status=status)


def _card() -> Card:
    card = guest_topup.verified_card(session)
    if card is None:
        raise _Expired
    return card


class _Expired(Exception):
    """No card shown in this browser in the last 30 minutes."""


@bp.errorhandler(_Expired)
def start_again(_error):
    flash(_("For your safety, please type the card's details again (they are kept for 30 minutes)."))
    if request.method == "POST" and request.headers.get("HX-Request") == "true":
        return redirect_full_page(url_for("topup.start"))
    return redirect(url_for("topup.start"), code=303)


def _buyer() -> checkout_flow.Buyer:
    """A guest: the card is proven by its number and ICCID digits, shown in this browser lately."""
    card = _card()
    return checkout_flow.Buyer(
        blueprint="topup",
        account=None,
        card=card,
        place=lambda plan, code, locale, start, method: guest_topup.place_order(
            session, card, plan, code, locale, start, method
        ),
        pay_url=lambda order: url_for("topup.pay", number=order.number, token=guest_topup.access_token(order.number)),
        own_numbers=tuple(guest_topup.own_numbers(session)),
        last_method=guest_topup.last_method(session),
    )


@bp.get("/review")
def review():
    """The plan choice (no ?plan= yet, or ?change=plan), then the review of card, plan, start and price."""
    buyer = _buyer()
    code = request.args.get("plan")
    plan = checkout_flow.plan_from(code) if code else None
    if plan is None or request.args.get("change") == "plan":
        return checkout_flow.choose_plan(url_for("topup.review"), plan, buyer.card, guest=True)
    return checkout_flow.render_review(buyer, plan, request.args.get("promo", ""), start=request.args.get("start"))


@bp.post("/promo")
def apply_promo():
    """Apply a promo code: the summary for htmx; without JS a 303 to the review page with ?promo=."""
    return checkout_flow.apply_promo(_buyer(), checkout_flow.plan_from(request.form.get("plan")))


@bp.post("/confirm")
def confirm():
    """Create this guest's order (no account) and send the browser to pay; prices come from the server."""
    return checkout_flow.confirm(_buyer(), checkout_flow.plan_from(request.form.get("plan")))


def _order(number: str, token: str) -> Order:
    order = guest_topup.order_for_token(number, token)
    if order is None:
        abort(404)
    return order


def _links(order: Order) -> dict:
    values: dict[str, Any] = {"number": order.number, "token": guest_topup.access_token(order.number)}
    return {
        "status_url": url_for("topup.status", **values),
        "pay_url": url_for("topup.pay", **values),
        "cancel_url": url_for("topup.cancel", **values),
        "receipt_url": url_for("topup.receipt", **values),
    }


def _external(endpoint: str, **values) -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for(endpoint, **values)


@bp.get("/orders/<number>/<token>/pay")
def pay(number: str, token: str):
    """To the cashier for this unpaid order; the browser comes back through payments.came_back."""
    order = _order(number, token)
    status_url = url_for("topup.status", number=order.number, token=token)
    if not orders.payable(order):
        return redirect(status_url, code=303)
    return payments.to_cashier(order, status_url, _external("topup.status", number=order.number, token=token))


@bp.get("/orders/<number>/<token>")
def status(number: str, token: str):
    """The order's live state (the same page as a signed-in traveller's), opened by its token."""
    order = _order(number, token)
    return render_page(
        "account_orders/status.html",
        order=order,
        final=order.state in order_states.FINAL,
        payable=orders.payable(order),
        cancel_form=EmptyForm(),
        guest=_links(order),
        fragments={"order-state": "order_state"},
    )


@bp.get("/orders/<number>/<token>/receipt")
def receipt(number: str, token: str):
    order = _order(number, token)
    if order.state not in order_states.RECEIPT:
        abort(404)
    url = receipts.verification_url(order)
    return render_page(
        "account_orders/receipt.html", order=order, qr=receipts.qr_svg(url), verify_url=url, guest=_links(order)
    )


@bp.post("/orders/<number>/<token>/cancel")
def cancel(number: str, token: str):
    """Cancel this unpaid order (its trade is closed at the gateway first)."""
    order = _order(number, token)
    if not EmptyForm().validate_on_submit():
        abort(400)
    message = CANCEL_MESSAGES.get(payment_events.cancel_by_traveller(order))
    if message is not None:
        flash(str(message[0]), message[1])
    return redirect_after_post(url_for("topup.status", number=order.number, token=token))
