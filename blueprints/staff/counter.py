"""Payments taken at a counter: agents at any open location, partners at their own only; the receipt to
print or text. Step one checks and prices once; step two (confirm) records that figure, once."""

from flask import abort, flash, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from blueprints.staff import bp
from blueprints.staff.orders import _me
from extensions import db
from models import CounterPayment, Location, Order
from rules.offers import catalogue
from rules.ordering import orders, receipts
from rules.shops import places
from rules.staff import actors, audit, counter_payments
from rules.text import locales
from rules.text.formatting import money
from web.forms import EmptyForm
from web.rendering import redirect_after_post, render_page
from web.staff_auth import staff_required
from web.staff_money_forms import CounterForm


def _own_location() -> Location | None:
    """A partner's one location (None for everyone else)."""
    me = _me()
    return db.session.get(Location, me.location_id) if actors.is_partner(me) and me.location_id else None


def _counter_form(posted: bool = True) -> CounterForm:
    form = CounterForm() if posted else CounterForm(formdata=None)
    form.plan.choices = [
        (p.code, f"{locales.localized_name(p)} · {money(catalogue.current_price_cents(p), p.currency)}")
        for p in catalogue.active_plans()
    ]
    form.method.choices = [(code, str(name)) for code, name in counter_payments.METHODS.items()]
    form.locale.choices = list(locales.LOCALES.items())
    form.id_kind.choices = [
        ("", _("Choose…")),
        *((code, str(name)) for code, name in counter_payments.ID_KINDS.items()),
    ]
    own = _own_location()
    open_places = [own] if own is not None else [loc for loc in places.every() if loc.closed_at is None]
    form.location.choices = [(loc.code, places.name(loc)) for loc in open_places if loc is not None]
    return form


def _counter_page(form: CounterForm, status: int = 200, confirm: dict | None = None, problem: str | None = None):
    own = _own_location()
    return render_page("staff/counter.html", status=status, form=form, confirm=confirm, own=own, problem=problem)


def _counter_refused(form: CounterForm, message: str, field_name: str | None, status: int = 422):
    """The message beside the field at fault; back to step one."""
    name = {"number": "card_number"}.get(field_name or "", field_name or "")
    form.confirm.data = ""
    if name == "location" and _own_location() is not None:  # a partner's location is not a field it sees
        return _counter_page(form, status, problem=message)
    field = getattr(form, name, None) if name in form._fields else None
    (field if field is not None else form.card_number).errors = [message]
    return _counter_page(form, status)


def _inputs(form: CounterForm) -> dict:
    """What the staff member typed, named as check() and record() both take it."""
    return {
        "card_number": form.card_number.data or "",
        "plan_code": form.plan.data or "",
        "method": form.method.data or "",
        "location_code": form.location.data or "",
        "staff_reference": form.reference.data or "",
        "iccid_text": form.iccid.data or "",
        "promo_code": form.promo_code.data or "",
        "iccid_last4": form.iccid_last4.data or "",
        "id_kind": form.id_kind.data or "",
        "id_last4": form.id_last4.data or "",
    }


@bp.get("/counter")
@staff_required("agent", partner=True)
def counter():
    """Record money taken at a counter: the card, the plan, how it was paid, where."""
    form = _counter_form(posted=False)
    form.locale.data = locales.current()
    return _counter_page(form)


@bp.post("/counter")
@staff_required("agent", partner=True)
def counter_record():
    """Step one checks the card and prices the order once; step two (confirm) records that figure, once."""
    form = _counter_form()
    if not form.validate_on_submit():
        return _counter_page(form, 422)
    if form.confirm.data != "1":
        return _counter_check(form)
    me = _me()
    try:
        result = counter_payments.record(
            **_inputs(form),
            request_id=form.request_id.data or "",
            actor=me,
            locale=form.locale.data if form.locale.data in locales.LOCALES else "en",
            quoted=_quoted(form),
            location_version=_version(form),
        )
    except counter_payments.CounterRefused as error:
        db.session.rollback()
        return _counter_refused(form, str(error), error.field)
    except actors.NotAllowed as error:
        db.session.rollback()
        return _counter_refused(form, str(error), "location", 403)
    if not result.duplicate:
        audit.record(me, "order.counter_payment", result.order, result.before, result.after)
    db.session.commit()
    result.after_commit()
    flash(_("Payment recorded. Order %(number)s is paid.", number=result.order.number))
    return redirect_after_post(url_for("staff.counter_receipt", number=result.order.number))


def _counter_check(form: CounterForm):
    """Step one: refuse what record() would refuse (an unknown card too), else show the one figure."""
    try:
        checked = counter_payments.check(**_inputs(form), actor=_me())
    except counter_payments.CounterRefused as error:
        db.session.rollback()
        return _counter_refused(form, str(error), error.field)
    except actors.NotAllowed as error:
        db.session.rollback()
        return _counter_refused(form, str(error), "location", 403)
    form.request_id.data = counter_payments.new_request_id()
    form.quoted.data = str(checked.total_cents)
    form.location_version.data = str(checked.location.version)
    confirm = {
        "plan": locales.localized_name(checked.plan),
        "amount": money(checked.total_cents, checked.quote.currency),
        "method": str(counter_payments.METHODS[form.method.data]),
        "location": places.name(checked.location),
        "id_shown": checked.id_shown,
    }
    return _counter_page(form, confirm=confirm)


def _quoted(form: CounterForm) -> int:
    """The total the confirm step carried; a form without one is refused as a changed price."""
    quoted = counter_payments.form_number(form.quoted.data)
    return -1 if quoted is None else quoted


def _version(form: CounterForm) -> int:
    """The location's version the confirm step showed; a form without one is refused as an edited location."""
    version = counter_payments.form_number(form.location_version.data)
    return -1 if version is None else version


def _counter_payment_or_404(number: str) -> CounterPayment:
    """A counter payment's record; for a partner only one taken at its own location (404 otherwise: a partner
    learns nothing of other orders, not even that they exist)."""
    payment = db.session.scalars(
        select(CounterPayment).join(Order).where(Order.number == orders.normalise_number(number))
    ).first()
    me = _me()
    if payment is None or (actors.is_partner(me) and payment.location_id != me.location_id):
        abort(404)
    return payment


@bp.get("/counter/receipt/<number>")
@staff_required("agent", partner=True)
def counter_receipt(number: str):
    """The receipt of a counter payment, to print for the traveller or text to the card's number."""
    payment = _counter_payment_or_404(number)
    order = payment.order
    location = db.session.get(Location, payment.location_id) if payment.location_id else None
    qr = receipts.qr_svg(receipts.verification_url(order))
    return render_page(
        "staff/counter_receipt.html", payment=payment, order=order, location=location, qr=qr, form=EmptyForm()
    )


@bp.post("/counter/receipt/<number>/sms")
@staff_required("agent", partner=True)
def counter_receipt_sms(number: str):
    """Text the receipt link to the card's number again (at most once more per order)."""
    payment = _counter_payment_or_404(number)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    location = db.session.get(Location, payment.location_id) if payment.location_id else None
    if location is None:
        abort(404)
    sent = counter_payments.queue_receipt_sms(payment.order, location, dedupe=":again")
    if sent:
        audit.record(_me(), "order.receipt_sms", payment.order, after={"to": "card"})
    db.session.commit()
    flash(
        _("The receipt is on its way by SMS.") if sent else _("The receipt was already texted again once."),
        "message" if sent else "error",
    )
    return redirect_after_post(url_for("staff.counter_receipt", number=payment.order.number))
