"""Refund requests: an agent asks a supervisor to refund an order; a supervisor approves or rejects it.

Thin views over rules.staff.refund_requests; each step is written to the audit log in the same commit.
"""

from flask import abort, flash, url_for
from flask_babel import gettext as _

from blueprints.staff import bp
from blueprints.staff.orders import _detail, _me, _order_or_404
from extensions import db
from rules.staff import audit, refund_requests
from rules.text.formatting import money
from web.rendering import redirect_after_post
from web.staff_auth import staff_required
from web.staff_money_forms import RefundAskForm, RefundDecisionForm


def _back(order):
    return redirect_after_post(url_for("staff.order", number=order.number))


@bp.post("/orders/<number>/refund-requests")
@staff_required("agent")
def refund_ask(number: str):
    """Ask a supervisor to refund this order (the amount is checked against what is left to refund)."""
    order = _order_or_404(number)
    form = RefundAskForm()
    if not form.validate_on_submit():
        return _detail(order, status=422, ask_form=form)
    me = _me()
    try:
        decision = refund_requests.ask(order, form.amount.data, form.reason.data, me)
    except refund_requests.RequestRefused as error:
        db.session.rollback()
        form.amount.errors = [*form.amount.errors, str(error)]
        return _detail(order, status=422, ask_form=form)
    audit.record(me, "refund_request.ask", order, decision.before, decision.after, decision.request.reason)
    db.session.commit()
    flash(_("A supervisor is asked to refund %(amount)s.", amount=money(decision.request.amount_cents, order.currency)))
    return _back(order)


def _decision(number: str):
    order = _order_or_404(number)
    form = RefundDecisionForm()
    if not form.validate_on_submit():
        abort(400)
    request = refund_requests.find(order, form.refund_request.data)
    if request is None:
        abort(404)
    return order, form, request


@bp.post("/orders/<number>/refund-requests/approve")
@staff_required("supervisor")
def refund_ask_approve(number: str):
    """Make the refund asked for, once however often this is sent."""
    order, _form, request = _decision(number)
    me = _me()
    try:
        decision = refund_requests.approve(order, request, me)
    except refund_requests.RequestRefused as error:
        db.session.rollback()
        flash(str(error), "error")
        return _back(order)
    result = decision.refund
    assert result is not None
    if not result.duplicate:
        audit.record(me, "refund_request.approve", order, decision.before, decision.after, request.reason)
    db.session.commit()
    result.after_commit()
    flash(
        _("That refund was already made.")
        if result.duplicate
        else _("Refunded %(amount)s.", amount=money(result.refund.amount_cents, order.currency))
    )
    return _back(order)


@bp.post("/orders/<number>/refund-requests/reject")
@staff_required("supervisor")
def refund_ask_reject(number: str):
    """Say no to a request, with a reason; the order is unchanged."""
    order, form, request = _decision(number)
    me = _me()
    try:
        decision = refund_requests.reject(order, request, form.reason.data, me)
    except refund_requests.RequestRefused as error:
        db.session.rollback()
        flash(str(error), "error")
        return _back(order)
    audit.record(me, "refund_request.reject", order, decision.before, decision.after, form.reason.data)
    db.session.commit()
    flash(_("The refund request is rejected."))
    return _back(order)
