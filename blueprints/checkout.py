"""Checkout: review a card and a plan, apply a promo code, confirm. Nothing is charged before confirm.

Plan, card and promo code travel in the query string (review) or the form (promo, confirm); prices
never do: every page and the order itself are priced by pricing.quote() on the server.
"""

from flask import Blueprint, flash, g, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from extensions import db
from models import Card, Plan
from rules import card_binding, catalogue, locales, orders, pricing
from rules.promotions import PromotionRefused
from web.rendering import redirect_after_post, redirect_full_page, render_page, wants_fragment

bp = Blueprint("checkout", __name__, url_prefix="/checkout")
MAX_CARD_ID_DIGITS = 9  # larger numbers are not ids, and would overflow SQLite's INTEGER


class CheckoutProblem(Exception):
    """A checkout that cannot go on (unknown plan, not your card…): a message page, nothing changed."""

    def __init__(self, message: str, status: int = 404):
        super().__init__(message)
        self.status = status


@bp.errorhandler(CheckoutProblem)
def show_problem(problem: CheckoutProblem):
    return render_page("checkout/problem.html", message=str(problem), status=problem.status)


@bp.before_request
@login_required
def require_login():
    """Checkout belongs to a signed-in traveller (the login page brings them back here)."""


def _plan(code: str | None) -> Plan:
    plan = catalogue.plan_by_code(code[:40]) if code else None
    if plan is None:
        raise CheckoutProblem(_("This plan is not on sale any more, or the link is wrong. Please choose a plan again."))
    return plan


def _card(raw_id: str | None) -> Card:
    """The traveller's own bound card; anything else (not a number, not theirs, unbound) is refused alike."""
    raw_id = (raw_id or "").strip()
    card = None
    if raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= MAX_CARD_ID_DIGITS:  # "²".isdigit() too
        card = card_binding.owned_card(current_user, int(raw_id))
    if card is None:
        raise CheckoutProblem(_("This card is not in your cards. Choose one of your cards, or add it first."))
    return card


@bp.get("")
def review():
    """The review page for ?plan=<code>&card=<id>; asks for whichever is missing (or ?change=plan|card)."""
    cards = current_user.cards
    if not cards:
        flash(_("Add the card you want to top up first."))
        return redirect(url_for("cards.index", next=request.full_path.rstrip("?")))
    code, card_id, change = request.args.get("plan"), request.args.get("card"), request.args.get("change")
    plan = _plan(code) if code else None
    card = _card(card_id) if card_id else (cards[0] if len(cards) == 1 else None)
    if plan is None or change == "plan":
        return _choose("plan", plan, card)
    if card is None or change == "card":
        return _choose("card", plan, card)
    return _render_review(plan, card, request.args.get("promo", ""))


def _choose(step: str, plan: Plan | None, card: Card | None):
    return render_page(
        "checkout/choose.html",
        step=step,
        plan=plan,
        card=card,
        cards=current_user.cards,
        plans=catalogue.active_plans() if step == "plan" else [],
        regions=catalogue.REGIONS,
        price=catalogue.current_price_cents,
    )


def _render_review(
    plan: Plan,
    card: Card,
    typed_code: str,
    *,
    promo_error: str | None = None,
    notice: str | None = None,
    status: int = 200,
):
    """The review page (or, for the promo form's htmx request, its summary block)."""
    typed_code = typed_code.strip()[:40]
    try:
        quote = pricing.quote(current_user, card, plan, None if promo_error else typed_code)
    except PromotionRefused as refusal:
        promo_error = str(refusal)
        quote = pricing.quote(current_user, card, plan, None)
    pending = orders.pending_order(card, plan)
    if pending is not None and (pending.account_id != current_user.id or not orders.payable(pending)):
        pending = None
    if promo_error and status == 200:
        status = 422
    return render_page(
        "checkout/review.html",
        fragments={"checkout-summary": "summary"},
        status=status,
        plan=plan,
        card=card,
        quote=quote,
        promo_code=typed_code,
        promo_error=promo_error,
        notice=notice,
        pending=pending,
        regions=catalogue.REGIONS,
    )


def _chosen() -> tuple[Plan, Card]:
    return _plan(request.form.get("plan")), _card(request.form.get("card"))


@bp.post("/promo")
def apply_promo():
    """Apply a promo code (an empty one removes it): the summary for htmx; without JS, a 303 to the review
    page with ?promo=, so the address left behind is a page (a reload, or the language switch, can GET it)."""
    plan, card = _chosen()
    code = request.form.get("promo_code", "").strip()[:40]
    g.page_url = url_for("checkout.review", plan=plan.code, card=card.id, promo=code or None)
    if not wants_fragment():
        return redirect_after_post(g.page_url)
    response = make_response(_render_review(plan, card, code))
    response.headers["HX-Replace-Url"] = g.page_url
    return response


@bp.post("/confirm")
def confirm():
    """Create the order (or find the unpaid one for this card and plan) and send the browser to pay.

    Only plan, card and promo code are read from the form: any amount or price sent is ignored.
    """
    plan, card = _chosen()
    code = request.form.get("promo_code", "")[:40]
    try:
        if pricing.total_changed(current_user, card, plan, code, request.form.get("quoted", "")):
            return _render_review(
                plan,
                card,
                code,
                status=409,
                notice=_(
                    "The price has changed since you opened this page. Please check the new total and confirm again."
                ),
            )
        order = orders.create_order(current_user, card, plan, code, locales.current())
    except PromotionRefused as refusal:
        db.session.rollback()
        return _render_review(plan, card, code, promo_error=str(refusal))
    except orders.OrderRefused as refusal:
        db.session.rollback()
        raise CheckoutProblem(str(refusal), 409) from None
    db.session.commit()
    # A full page load even for htmx: the browser leaves the site for the payment page.
    return redirect_full_page(url_for("payments.pay", number=order.number))
