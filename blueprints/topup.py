"""Top up without signing in: the card's number twice and the last 4 ICCID digits, then the same plan
choice, review, Alipay payment and receipt as the signed-in checkout. The rules are in
rules.ordering.guest_topup; the order's pages open with its token instead of an account."""

from typing import Any

from flask import Blueprint, abort, current_app, flash, g, make_response, redirect, request, session, url_for
from flask_babel import gettext as _

from blueprints.account_orders import CANCEL_MESSAGES
from extensions import db
from gateways import alipay_gateway
from models import Card, Order, Plan
from rules.offers import catalogue
from rules.offers.promotions import PromotionRefused
from rules.ordering import guest_topup, order_states, orders, pricing, receipts
from rules.payments import payment_events
from rules.text import locales
from web.forms import EmptyForm, TopUpForm
from web.rendering import PageProblem, redirect_after_post, redirect_full_page, render_page, wants_fragment

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


def _plan(code: str | None) -> Plan:
    plan = catalogue.plan_by_code(code[:40]) if code else None
    if plan is None:
        raise PageProblem(_("This plan is not on sale any more, or the link is wrong. Please choose a plan again."))
    return plan


@bp.get("/review")
def review():
    """The plan choice (no ?plan= yet, or ?change=plan), then the review of card, plan and price."""
    card = _card()
    code = request.args.get("plan")
    plan = _plan(code) if code else None
    if plan is None or request.args.get("change") == "plan":
        return render_page(
            "topup/choose.html",
            plan=plan,
            card=card,
            plans=catalogue.active_plans(),
            regions=catalogue.REGIONS,
            price=catalogue.current_price_cents,
        )
    return _render_review(plan, card, request.args.get("promo", ""))


def _render_review(plan: Plan, card: Card, typed_code: str, *, promo_error=None, notice=None, status=200):
    typed_code = typed_code.strip()[:40]
    try:
        quote = pricing.quote(None, card, plan, None if promo_error else typed_code)
    except PromotionRefused as refusal:
        promo_error = str(refusal)
        quote = pricing.quote(None, card, plan, None)
    pending = orders.pending_order(card, plan)
    if pending is not None and (pending.number not in guest_topup.own_numbers(session) or not orders.payable(pending)):
        pending = None  # someone else's unpaid order is never mentioned, let alone shown
    return render_page(
        "topup/review.html",
        fragments={"checkout-summary": "summary"},
        status=422 if promo_error and status == 200 else status,
        plan=plan,
        card=card,
        quote=quote,
        promo_code=typed_code,
        promo_error=promo_error,
        notice=notice,
        pending=pending,
        regions=catalogue.REGIONS,
    )


@bp.post("/promo")
def apply_promo():
    """Apply a promo code: the summary for htmx; without JS a 303 to the review page with ?promo=."""
    card, plan = _card(), _plan(request.form.get("plan"))
    code = request.form.get("promo_code", "").strip()[:40]
    g.page_url = url_for("topup.review", plan=plan.code, promo=code or None)
    if not wants_fragment():
        return redirect_after_post(g.page_url)
    response = make_response(_render_review(plan, card, code))
    response.headers["HX-Replace-Url"] = g.page_url
    return response


@bp.post("/confirm")
def confirm():
    """Create this guest's order (no account) and send the browser to pay; prices come from the server."""
    card, plan = _card(), _plan(request.form.get("plan"))
    code = request.form.get("promo_code", "")[:40]
    try:
        if pricing.total_changed(None, card, plan, code, request.form.get("quoted", "")):
            notice = _(
                "The price has changed since you opened this page. Please check the new total and confirm again."
            )
            return _render_review(plan, card, code, status=409, notice=notice)
        order = guest_topup.place_order(session, card, plan, code, locales.current())
    except PromotionRefused as refusal:
        db.session.rollback()
        return _render_review(plan, card, code, promo_error=str(refusal))
    except orders.OrderRefused as refusal:
        db.session.rollback()
        raise PageProblem(str(refusal), 409) from None
    db.session.commit()
    return redirect_full_page(url_for("topup.pay", number=order.number, token=guest_topup.access_token(order.number)))


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
    """To the Alipay cashier for this unpaid order; the return comes back through payments.alipay_return."""
    order = _order(number, token)
    if not orders.payable(order):
        return redirect(url_for("topup.status", number=order.number, token=token), code=303)
    url = alipay_gateway.payment_url(
        order,
        return_url=_external("payments.alipay_return"),
        notify_url=_external("payments.alipay_notify"),
        quit_url=_external("topup.status", number=order.number, token=token),
    )
    return redirect(url, code=303)


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
