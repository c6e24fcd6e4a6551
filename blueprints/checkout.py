"""Checkout of a signed-in traveller's own bound card: choose the card, then the one checkout flow
(blueprints/checkout_flow) for plan, start, promo code and confirm. Nothing is charged before confirm."""

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from blueprints import checkout_flow
from models import Card, Plan
from rules.ordering import orders
from rules.travellers import card_binding
from web.rendering import PageProblem, render_page

bp = Blueprint("checkout", __name__, url_prefix="/checkout")
MAX_CARD_ID_DIGITS = 9  # larger numbers are not ids, and would overflow SQLite's INTEGER


@bp.errorhandler(PageProblem)
def show_problem(problem: PageProblem):
    return render_page("checkout/problem.html", message=str(problem), status=problem.status)


@bp.before_request
@login_required
def require_login():
    """Checkout belongs to a signed-in traveller (the login page brings them back here)."""


def _card(raw_id: str | None) -> Card:
    """The traveller's own bound card; anything else (not a number, not theirs, unbound) is refused alike."""
    raw_id = (raw_id or "").strip()
    card = None
    if raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= MAX_CARD_ID_DIGITS:  # "²".isdigit() too
        card = card_binding.owned_card(current_user, int(raw_id))
    if card is None:
        raise PageProblem(_("This card is not in your cards. Choose one of your cards, or add it first."))
    return card


def _buyer(card: Card) -> checkout_flow.Buyer:
    """The signed-in owner: the card is proven by being bound to their account."""
    account = current_user._get_current_object()
    return checkout_flow.Buyer(
        blueprint="checkout",
        account=account,
        card=card,
        place=lambda plan, code, locale, start, method: orders.create_order(
            account, card, plan, code, locale, start, method
        ),
        pay_url=lambda order: url_for("payments.pay", number=order.number),
        last_method=account.payment_method,
    )


@bp.get("")
def review():
    """The review page for ?plan=<code>&card=<id>; asks for whichever is missing (or ?change=plan|card)."""
    cards = current_user.cards
    if not cards:
        flash(_("Add the card you want to top up first."))
        return redirect(url_for("cards.index", next=request.full_path.rstrip("?")))
    code, card_id, change = request.args.get("plan"), request.args.get("card"), request.args.get("change")
    plan = checkout_flow.plan_from(code) if code else None
    card = _card(card_id) if card_id else (cards[0] if len(cards) == 1 else None)
    if plan is None or change == "plan":
        return checkout_flow.choose_plan(url_for("checkout.review"), plan, card)
    if card is None or change == "card":
        return render_page(
            "checkout/choose.html",
            step="card",
            review_url=url_for("checkout.review"),
            plan=plan,
            card=card,
            cards=cards,
        )
    return checkout_flow.render_review(
        _buyer(card), plan, request.args.get("promo", ""), start=request.args.get("start")
    )


def _chosen() -> tuple[checkout_flow.Buyer, Plan]:
    return _buyer(_card(request.form.get("card"))), checkout_flow.plan_from(request.form.get("plan"))


@bp.post("/promo")
def apply_promo():
    """Apply a promo code: the summary for htmx; without JS a 303 to the review page with ?promo=."""
    return checkout_flow.apply_promo(*_chosen())


@bp.post("/confirm")
def confirm():
    """Create the order (or continue the unpaid one for this card and plan) and send the browser to pay."""
    return checkout_flow.confirm(*_chosen())
