"""End of day: a location's takings for a Hong Kong day by method, closed once by its partner or a
supervisor; late corrections (supervisors); the settlement across locations (supervisors)."""

from datetime import date, timedelta

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from blueprints.staff import bp
from blueprints.staff.orders import _me
from extensions import db
from models import CounterPayment, Location
from rules.shops import places, takings
from rules.staff import actors, audit, counter_payments
from web.rendering import redirect_after_post, render_page
from web.staff_auth import staff_required
from web.staff_money_forms import DayCloseForm, DayCorrectionForm


def _location(code: str | None) -> Location:
    """A partner's own location whatever it asks for; for a supervisor the one named (else the first)."""
    me = _me()
    if actors.is_partner(me):
        location = db.session.get(Location, me.location_id) if me.location_id else None
        if location is None or (code and code != location.code):
            abort(404 if location is None else 403)
        return location
    location = places.by_code(code or "") if code else next(iter(places.every()), None)
    if location is None:
        abort(404)
    return location


def _day(text: str | None) -> date:
    try:
        return takings.parse_day(text, takings.hk_today())
    except takings.DayRefused:
        abort(400)


def _page(location: Location, on: date, status: int = 200, correction: DayCorrectionForm | None = None):
    one = takings.day(location, on)
    payments = list(
        db.session.scalars(
            select(CounterPayment)
            .where(CounterPayment.location_id == location.id, CounterPayment.hk_day == on)
            .order_by(CounterPayment.id)
        )
    )
    correction = correction or DayCorrectionForm(formdata=None, location=location.code, day=on.isoformat())
    correction.method.choices = [(key, str(name)) for key, name in takings.GROUPS.items()]
    shown = str(one.row.payments if one.row else 0)
    close_form = DayCloseForm(formdata=None, location=location.code, day=on.isoformat(), payments=shown)
    return render_page(
        "staff/day.html",
        status=status,
        one=one,
        payments=payments,
        GROUPS=takings.GROUPS,
        close_form=close_form,
        correction=correction,
        locations=[] if actors.is_partner(_me()) else places.every(),
        previous=on - timedelta(days=1),
        following=on + timedelta(days=1) if on < takings.hk_today() else None,
    )


@bp.get("/day")
@staff_required("supervisor", partner=True)
def day_page():
    """One location's takings for one Hong Kong day (a partner: its own), and the close button."""
    return _page(_location(request.args.get("location")), _day(request.args.get("day")))


@bp.post("/day/close")
@staff_required("supervisor", partner=True)
def day_close():
    """Close the day once: the figures are final; a second close (a replay) changes nothing."""
    form = DayCloseForm()
    if not form.validate_on_submit():
        abort(400)
    location, on = _location(form.location.data), _day(form.day.data)
    me = _me()
    try:
        row = takings.close(location, on, me, counter_payments.form_number(form.payments.data))
    except (takings.DayRefused, actors.NotAllowed) as error:
        db.session.rollback()
        flash(str(error), "error")
        return _page(location, on, 409 if isinstance(error, takings.DayRefused) else 403)
    after = {
        "location": location.code,
        "day": on.isoformat(),
        "cash": row.cash_cents,
        "card": row.card_cents,
        "qr": row.qr_cents,
        "payments": row.payments,
    }
    audit.record(me, "day.close", after=after)
    db.session.commit()
    flash(_("The day is closed. Its figures cannot change any more."))
    return redirect_after_post(url_for("staff.day_page", location=location.code, day=on.isoformat()))


@bp.post("/day/correct")
@staff_required("supervisor")
def day_correct():
    """A late correction to a closed day: a new, audited entry beside the closed figures."""
    form = DayCorrectionForm()
    if not form.validate_on_submit():
        abort(400)
    location, on = _location(form.location.data), _day(form.day.data)
    me = _me()
    try:
        entry = takings.correct(
            location, on, form.method.data or "", form.amount.data or "", form.reason.data or "", me
        )
    except takings.DayRefused as error:
        db.session.rollback()
        form.amount.errors = [str(error)]
        return _page(location, on, 422, correction=form)
    after = {
        "location": location.code,
        "day": on.isoformat(),
        "method": entry.method,
        "amount_cents": entry.amount_cents,
    }
    audit.record(me, "day.correction", after=after, reason=entry.reason)
    db.session.commit()
    flash(_("The correction is recorded."))
    return redirect_after_post(url_for("staff.day_page", location=location.code, day=on.isoformat()))


@bp.get("/settlement")
@staff_required("supervisor")
def settlement_page():
    """What each location owes for its days between two dates (Hong Kong days; the last 7 by default)."""
    today = takings.hk_today()
    try:
        last = takings.parse_day(request.args.get("to"), today)
        first = takings.parse_day(request.args.get("from"), last - timedelta(days=6))
        days = takings.settlement(first, last)
    except takings.DayRefused as error:
        return render_page(
            "staff/settlement.html",
            status=400,
            error=str(error),
            days=[],
            first=today,
            last=today,
            total=0,
            by_location={},
        )
    by_location: dict[str, int] = {}
    for one in days:
        by_location[one.location.code] = by_location.get(one.location.code, 0) + one.owes
    return render_page(
        "staff/settlement.html",
        days=days,
        first=first,
        last=last,
        total=takings.total(days),
        by_location=by_location,
        error=None,
        GROUPS=takings.GROUPS,
        names={loc.code: places.name(loc) for loc in places.every()},
    )
