"""Checkout: review a card and a plan, apply a promo code, confirm. Nothing is charged before confirm.

Plan, card and promo code travel in the query string (review) or the form (promo, confirm); prices
never do: every page and the order itself are priced by pricing.quote() on the server.
"""

from flask import Blueprint, flash, g, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from extensions import db
from models import Card, Plan, utcnow
from rules.offers import catalogue
from rules.offers.promotions import PromotionRefused
from rules.ordering import orders, pricing, start_modes
from rules.text import locales
from rules.travellers import card_binding
from web.rendering import PageProblem, redirect_after_post, redirect_full_page, render_page, wants_fragment

bp = Blueprint("checkout", __name__, url_prefix="/checkout")
MAX_CARD_ID_DIGITS = 9  # larger numbers are not ids, and would overflow SQLite's INTEGER


@bp.errorhandler(PageProblem)
def show_problem(problem: PageProblem):
    return render_page("checkout/problem.html", message=str(problem), status=problem.status)


@bp.before_request
@login_required
def require_login():
    """Checkout belongs to a signed-in traveller (the login page brings them back here)."""


def _plan(code: str | None) -> Plan:
    plan = catalogue.plan_by_code(code[:40]) if code else None
    if plan is None:
        raise PageProblem(_("This plan is not on sale any more, or the link is wrong. Please choose a plan again."))
    return plan


def _card(raw_id: str | None) -> Card:
    """The traveller's own bound card; anything else (not a number, not theirs, unbound) is refused alike."""
    raw_id = (raw_id or "").strip()
    card = None
    if raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= MAX_CARD_ID_DIGITS:  # "²".isdigit() too
        card = card_binding.owned_card(current_user, int(raw_id))
    if card is None:
        raise PageProblem(_("This card is not in your cards. Choose one of your cards, or add it first."))
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
    return _render_review(plan, card, request.args.get("promo", ""), start=request.args.get("start"))


def _choose(step: str, plan: Plan | None, card: Card | None):
    plans = catalogue.active_plans() if step == "plan" else []
    return render_page(
        "checkout/choose.html",
        step=step,
        plan=plan,
        card=card,
        cards=current_user.cards,
        plans=plans,
        regions=catalogue.REGIONS,
        price=catalogue.current_price_cents,
    )


def _render_review(
    plan: Plan,
    card: Card,
    typed_code: str,
    *,
    start: str | None = None,
    promo_error: str | None = None,
    notice: str | None = None,
    status: int = 200,
):
    """The review page (or, for the promo form's htmx request, its summary block)."""
    typed_code = typed_code.strip()[:40]
    now = utcnow()
    suggestion, start_mode = _start(card, plan, start, now)
    if start and start_modes.parse(start) is None and not notice:
        notice = _("That start is not one of the choices, so the suggested one is selected. Please check it.")
    try:
        quote = pricing.quote(current_user, card, plan, None if promo_error else typed_code, now, start_mode)
    except PromotionRefused as refusal:
        promo_error = str(refusal)
        quote = pricing.quote(current_user, card, plan, None, now, start_mode)
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
        suggestion=suggestion,
        start_modes=start_modes,
    )


def _start(card: Card, plan: Plan, start: str | None, now) -> tuple[start_modes.Suggestion | None, str]:
    """(the suggestion, the start to quote): a choice only when a pack is running or queued on the card."""
    last_end = pricing.queue_end(card)
    if last_end is None or last_end <= now:
        return None, start_modes.AFTER_CURRENT  # nothing to wait for: it starts as soon as it is paid
    suggestion = start_modes.suggest(card, plan, now)
    return suggestion, start_modes.parse(start) or suggestion.mode


def _chosen() -> tuple[Plan, Card]:
    return _plan(request.form.get("plan")), _card(request.form.get("card"))


@bp.post("/promo")
def apply_promo():
    """Apply a promo code (an empty one removes it): the summary for htmx; without JS, a 303 to the review
    page with ?promo=, so the address left behind is a page (a reload, or the language switch, can GET it)."""
    plan, card = _chosen()
    code = request.form.get("promo_code", "").strip()[:40]
    start = start_modes.parse(request.form.get("start"))
    g.page_url = url_for("checkout.review", plan=plan.code, card=card.id, promo=code or None, start=start)
    if not wants_fragment():
        return redirect_after_post(g.page_url)
    response = make_response(_render_review(plan, card, code, start=start))
    response.headers["HX-Replace-Url"] = g.page_url
    return response


@bp.post("/confirm")
def confirm():
    """Create the order (or find the unpaid one for this card and plan) and send the browser to pay.

    Only plan, card, promo code and start are read from the form: any amount or price sent is ignored.
    """
    plan, card = _chosen()
    code = request.form.get("promo_code", "")[:40]
    start = request.form.get("start", "")[:20]
    if not start:  # a form from before the choice existed: the default the page would have shown
        start = _start(card, plan, None, utcnow())[1]
    elif start_modes.parse(start) is None:
        notice = _("Choose when the pack starts: now, or after the current pack.")
        return _render_review(plan, card, code, notice=notice, status=422)
    try:
        if pricing.total_changed(current_user, card, plan, code, request.form.get("quoted", "")):
            return _render_review(
                plan,
                card,
                code,
                start=start,
                status=409,
                notice=_(
                    "The price has changed since you opened this page. Please check the new total and confirm again."
                ),
            )
        order = orders.create_order(current_user, card, plan, code, locales.current(), start)
    except PromotionRefused as refusal:
        db.session.rollback()
        return _render_review(plan, card, code, start=start, promo_error=str(refusal))
    except orders.OrderRefused as refusal:
        db.session.rollback()
        raise PageProblem(str(refusal), 409) from None
    db.session.commit()
    # A full page load even for htmx: the browser leaves the site for the payment page.
    return redirect_full_page(url_for("payments.pay", number=order.number))
