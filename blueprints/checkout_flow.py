"""One checkout for both ways of proving the card: review a card and a plan, choose the start, apply a
promo code, confirm. blueprints/checkout (a signed-in owner's bound card) and blueprints/topup (a card
shown by its number and the last 4 ICCID digits) differ only in their Buyer; everything else, and each
fix, is made here once, on one page (templates/checkout/review.html and choose.html).

Plan, card and promo code travel in the query string (review) or the form (promo, confirm); prices
never do: every page and the order itself are priced by pricing.quote() on the server.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from flask import g, make_response, request, url_for
from flask_babel import gettext as _

from extensions import db
from models import Account, Card, Order, Plan, utcnow
from rules.offers import catalogue
from rules.offers.promotions import PromotionRefused
from rules.ordering import orders, pricing, start_modes
from rules.payments import method_choice
from rules.text import locales
from web.rendering import PageProblem, redirect_after_post, redirect_full_page, render_page, wants_fragment


@dataclass(frozen=True)
class Buyer:
    """Who buys, for which card, and how the card was proven.

    account: the signed-in owner, or None for a guest who showed the card's number and ICCID digits.
    own_numbers: a guest's orders made in this browser (the only unpaid ones they may continue).
    place: creates or continues the order: (plan, promo code, locale, start) -> Order.
    pay_url: where the browser goes to pay an order.
    """

    blueprint: str
    account: Account | None
    card: Card
    place: Callable[[Plan, str, str, str, str], Order]
    pay_url: Callable[[Order], str]
    own_numbers: tuple[str, ...] = field(default=())
    last_method: str | None = None

    @property
    def guest(self) -> bool:
        return self.account is None

    @property
    def card_args(self) -> dict:
        """What a link or form carries to name the card: its id for an owner; nothing for a guest,
        whose card is in their session."""
        return {} if self.guest else {"card": self.card.id}

    def url(self, view: str, plan: str | None = None, **values) -> str:
        """A link of this checkout: plan, then card, then the rest (the order links have always had)."""
        return url_for(f"{self.blueprint}.{view}", plan=plan, **self.card_args, **values)

    def change_card_url(self, plan: Plan) -> str:
        return url_for("topup.start") if self.guest else self.url("review", plan=plan.code, change="card")

    def owns(self, order: Order) -> bool:
        if self.guest:
            return order.account_id is None and order.number in self.own_numbers
        return order.account_id == self.account.id  # type: ignore[union-attr]


def plan_from(code: str | None) -> Plan:
    plan = catalogue.plan_by_code(code[:40]) if code else None
    if plan is None:
        raise PageProblem(_("This plan is not on sale any more, or the link is wrong. Please choose a plan again."))
    return plan


def choose_plan(review_url: str, plan: Plan | None, card: Card | None, *, guest: bool = False):
    """The plan choice, a GET form to `review_url` (the card, when known, is named in the form, or for a
    guest kept in the session). The signed-in checkout's card choice is the same page's other step."""
    return render_page(
        "checkout/choose.html",
        step="plan",
        review_url=review_url,
        guest=guest,
        plan=plan,
        card=card,
        plans=catalogue.active_plans(),
        regions=catalogue.REGIONS,
        price=catalogue.current_price_cents,
    )


def own_pending(buyer: Buyer, plan: Plan) -> Order | None:
    """The buyer's own unpaid order for this card and plan, which Confirm continues; someone else's is
    never mentioned, let alone shown."""
    pending = orders.pending_order(buyer.card, plan)
    return pending if pending is not None and buyer.owns(pending) and orders.payable(pending) else None


def start_choice(buyer: Buyer, plan: Plan, start: str | None, now: datetime):
    """(the suggestion, the start to quote). An owner gets a choice when a pack is running or queued,
    suggested from the card's balance. A guest always gets the choice, suggested after the current
    pack (it never loses data) and read from nothing: whether a pack runs is not a stranger's business."""
    if buyer.guest:
        return start_modes.for_stranger(), start_modes.parse(start) or start_modes.AFTER_CURRENT
    last_end = pricing.queue_end(buyer.card)
    if last_end is None or last_end <= now:
        return None, start_modes.AFTER_CURRENT  # nothing to wait for: it starts as soon as it is paid
    suggestion = start_modes.suggest(buyer.card, plan, now)
    return suggestion, start_modes.parse(start) or suggestion.mode


def render_review(
    buyer: Buyer,
    plan: Plan,
    typed_code: str,
    *,
    start: str | None = None,
    promo_error: str | None = None,
    notice: str | None = None,
    status: int = 200,
    method: str | None = None,
):
    """The review page (or, for the promo form's htmx request, its summary block). With an unpaid
    order of the buyer's for this card and plan, its figures: that is what Confirm goes on with."""
    typed_code = typed_code.strip()[:40]
    now = utcnow()
    suggestion, start_mode = start_choice(buyer, plan, start, now)
    if start and start_modes.parse(start) is None and not notice:
        notice = _("That start is not one of the choices, so the suggested one is selected. Please check it.")
    pending = own_pending(buyer, plan)
    if pending is not None:
        quote = pricing.of_order(pending, pricing.quote(buyer.account, buyer.card, plan, None, now, start_mode))
        typed_code, promo_error = "", None
    else:
        try:
            quote = pricing.quote(buyer.account, buyer.card, plan, None if promo_error else typed_code, now, start_mode)
        except PromotionRefused as refusal:
            promo_error = str(refusal)
            quote = pricing.quote(buyer.account, buyer.card, plan, None, now, start_mode)
    if promo_error and status == 200:
        status = 422
    methods = method_choice.choices(request.user_agent.string)
    return render_page(
        "checkout/review.html",
        fragments={"checkout-summary": "summary"},
        status=status,
        flow=buyer,
        plan=plan,
        card=buyer.card,
        quote=quote,
        promo_code=typed_code,
        promo_error=promo_error,
        notice=notice,
        pending=pending,
        regions=catalogue.REGIONS,
        suggestion=suggestion,
        start_modes=start_modes,
        methods=methods,
        # The method just picked (kept through a change of start: the start form sends it along), then
        # the unpaid order's or the traveller's last one.
        method=method_choice.preselected(
            methods,
            method or request.args.get("payment_method"),
            pending.payment_method if pending else buyer.last_method,
        ),
    )


def apply_promo(buyer: Buyer, plan: Plan):
    """Apply a promo code (an empty one removes it): the summary for htmx; without JS, a 303 to the review
    page with ?promo=, so the address left behind is a page (a reload, or the language switch, can GET it)."""
    code = request.form.get("promo_code", "").strip()[:40]
    start = start_modes.parse(request.form.get("start"))
    g.page_url = buyer.url("review", plan=plan.code, promo=code or None, start=start)
    if not wants_fragment():
        return redirect_after_post(g.page_url)
    response = make_response(render_review(buyer, plan, code, start=start))
    response.headers["HX-Replace-Url"] = g.page_url
    return response


def _total_changed(buyer: Buyer, plan: Plan, code: str, quoted: str) -> bool:
    pending = own_pending(buyer, plan)
    if pending is not None:  # the page showed this order's total
        return pricing.differs(pending.total_cents, quoted)
    return pricing.total_changed(buyer.account, buyer.card, plan, code, quoted)


def confirm(buyer: Buyer, plan: Plan):
    """Create the order (or continue the buyer's unpaid one for this card and plan) and send the browser
    to pay. Only plan, card, promo code, start and payment method are read from the form: any amount
    sent is ignored."""
    code = request.form.get("promo_code", "")[:40]
    start = request.form.get("start", "")[:20]
    if not start:  # a form from before the choice existed: the default the page would have shown
        start = start_choice(buyer, plan, None, utcnow())[1]
    elif start_modes.parse(start) is None:
        notice = _("Choose when the pack starts: now, or after the current pack.")
        return render_review(buyer, plan, code, notice=notice, status=422)
    try:
        typed = request.form.get("payment_method", "")[:20]
        method = method_choice.chosen(typed, request.user_agent.string, buyer.last_method)
    except method_choice.MethodRefused as refusal:
        return render_review(buyer, plan, code, start=start, notice=str(refusal), status=422)
    try:
        if _total_changed(buyer, plan, code, request.form.get("quoted", "")):
            notice = _(
                "The price has changed since you opened this page. Please check the new total and confirm again."
            )
            return render_review(buyer, plan, code, start=start, status=409, notice=notice, method=method)
        order = buyer.place(plan, code, locales.current(), start, method)
    except PromotionRefused as refusal:
        db.session.rollback()
        return render_review(buyer, plan, code, start=start, promo_error=str(refusal), method=method)
    except orders.OrderRefused as refusal:
        db.session.rollback()
        raise PageProblem(str(refusal), 409) from None
    db.session.commit()
    # A full page load even for htmx: the browser leaves the site for the payment page.
    return redirect_full_page(buyer.pay_url(order))
