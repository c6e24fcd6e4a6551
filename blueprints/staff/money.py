"""The money actions on an order (refund, cancel an unpaid order); payments taken at a counter are in counter.py.

Money moves only after a confirmation step: the first POST shows what will happen with a fresh request
id, the second performs it. The rules make each request id count once, so a double click or a replayed
form changes nothing more. Each change is written to the audit log in the same commit.
"""

from flask import flash, url_for
from flask_babel import gettext as _

from blueprints.staff import bp
from blueprints.staff.orders import _detail, _me, _order_or_404
from extensions import db
from rules.ordering.order_states import OrderState
from rules.payments.payment_events import CancelOutcome
from rules.staff import audit, staff_orders, staff_refunds
from rules.text import money_text
from rules.text.formatting import money
from web.rendering import redirect_after_post
from web.staff_auth import staff_required
from web.staff_money_forms import CancelForm, RefundForm


def _refund_refused(order, form: RefundForm, message: str, field: str = "amount"):
    getattr(form, field).errors = [*getattr(form, field).errors, message]
    form.confirm.data = ""
    return _detail(order, status=422, refund_form=form)


@bp.post("/orders/<number>/refund")
@staff_required("supervisor")
def refund(number: str):
    """Step one checks the amount and shows "Refund HK$X of order N?"; step two (confirm) refunds it once."""
    order = _order_or_404(number)
    form = RefundForm()
    if not form.validate_on_submit():
        return _detail(order, status=422, refund_form=form)
    if form.confirm.data != "1":
        try:
            cents = money_text.to_cents(form.amount.data)
        except money_text.AmountRefused as error:
            return _refund_refused(order, form, str(error))
        if cents <= 0 or cents > staff_refunds.left_to_refund(order):
            left = money(max(staff_refunds.left_to_refund(order), 0), order.currency)
            return _refund_refused(order, form, _("At most %(amount)s is left to refund.", amount=left))
        if not " ".join((form.reason.data or "").split()):
            return _refund_refused(order, form, _("Say why this is refunded."), "reason")
        form.request_id.data = staff_refunds.new_request_id()
        return _detail(order, refund_form=form, refund_confirm=money(cents, order.currency))
    me = _me()
    try:
        result = staff_refunds.refund(order, form.amount.data, form.request_id.data, form.reason.data, me)
    except staff_refunds.RefundRefused as error:
        db.session.rollback()
        return _refund_refused(order, form, str(error))
    if not result.duplicate:
        audit.record(me, "order.refund", order, result.before, result.after, result.refund.reason)
    db.session.commit()
    result.after_commit()
    flash(
        _("That refund was already made.")
        if result.duplicate
        else _("Refunded %(amount)s.", amount=money(result.refund.amount_cents, order.currency))
    )
    return redirect_after_post(url_for("staff.order", number=order.number))


@bp.post("/orders/<number>/cancel")
@staff_required("supervisor")
def cancel(number: str):
    """Cancel an order that is still waiting for payment (its trade is closed first, where it was started)."""
    order = _order_or_404(number)
    form = CancelForm()
    if not form.validate_on_submit():
        return _detail(order, status=422, cancel_form=form)
    me = _me()
    try:
        result = staff_orders.cancel_unpaid(order, form.reason.data, me)
    except staff_orders.CancelRefused as error:
        db.session.rollback()
        if order.state != OrderState.PENDING_PAYMENT:  # moved on meanwhile: no cancel form to show it beside
            flash(str(error), "error")
            return redirect_after_post(url_for("staff.order", number=order.number))
        form.reason.errors = [*form.reason.errors, str(error)]
        return _detail(order, status=422, cancel_form=form)
    if result.changed:
        audit.record(me, "order.cancel", order, result.before, result.after, form.reason.data)
    db.session.commit()
    if result.changed:
        result.after_commit()
    messages = {
        CancelOutcome.CANCELLED: _("The order is cancelled."),
        CancelOutcome.ALREADY_PAID: _("The traveller had paid meanwhile: the order is paid, not cancelled."),
        CancelOutcome.NOT_UNPAID: _("Only an order waiting for payment can be cancelled."),
        CancelOutcome.GATEWAY_DOWN: _(
            "%(method)s could not be reached. Nothing changed; try again.", method=result.method
        ),
    }
    flash(messages[result.outcome], "message" if result.changed else "error")
    return redirect_after_post(url_for("staff.order", number=order.number))
