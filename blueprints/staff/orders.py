"""Staff home (search and queues), the order detail page, and the agents' actions on an order."""

import uuid

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _

from blueprints.staff import bp
from extensions import db
from rules.ordering import order_states
from rules.staff import audit, order_file, order_search, refund_requests, staff_actions, staff_queues
from rules.text.formatting import typed_day
from web.rendering import redirect_after_post, render_page
from web.staff_auth import current_staff, staff_required
from web.staff_forms import AddedByHandForm, NoteForm, ResendForm, RetryForm, RevealForm
from web.staff_money_forms import CancelForm, RefundAskForm, RefundDecisionForm, RefundForm

MAX_QUERY = 200  # longer text is cut before it reaches the search: nothing typed is worth more


def _page(text: str | None) -> int:
    return int(text) if text and text.isascii() and text.isdigit() and len(text) < 6 else 1


@bp.get("")
@staff_required("agent")
def home():
    """One search box with filters (results as you type), and below it what waits for staff."""
    args = request.args
    q = args.get("q", "")[:MAX_QUERY]
    state = args.get("state") if args.get("state") in order_states.ALL else None
    date_from, date_to = typed_day(args.get("from")), typed_day(args.get("to"))
    searching = bool(q.strip() or state or date_from or date_to)
    results = order_search.search(q, state, date_from, date_to, _page(args.get("page"))) if searching else None
    return render_page(
        "staff/home.html",
        q=q,
        state=state,
        date_from=date_from,
        date_to=date_to,
        results=results,
        queues=None if searching else staff_queues.all_queues(),
        fragments={"results": "results"},
    )


def _order_or_404(number: str):
    order = order_file.find(number)
    if order is None:
        abort(404)
    return order


def _detail(order, status: int = 200, revealed=None, **forms):
    forms = {
        "reveal_form": RevealForm(formdata=None),
        "resend_form": ResendForm(formdata=None, request_id=uuid.uuid4().hex),
        "retry_form": RetryForm(formdata=None),
        "added_form": AddedByHandForm(formdata=None),
        "note_form": NoteForm(formdata=None),
        "refund_form": RefundForm(formdata=None),
        "cancel_form": CancelForm(formdata=None),
        "ask_form": RefundAskForm(formdata=None),
        "decision_form": RefundDecisionForm(formdata=None),
        **forms,
    }
    return render_page(
        "staff/order.html",
        status=status,
        file=order_file.order_file(order),
        order=order,
        revealed=revealed,
        details=order_file.details,
        loads=audit.loads,
        refund_asks=refund_requests.pending(order),
        **forms,
    )


@bp.get("/orders/<number>")
@staff_required("agent")
def order(number: str):
    """Everything about one order: who, what, the money, every message from and to the gateway, the timeline."""
    found = _order_or_404(number)
    if found.number != number:
        return redirect(url_for("staff.order", number=found.number))
    return _detail(found)


@bp.post("/orders/<number>/reveal")
@staff_required("agent")
def reveal(number: str):
    """Show the full number and ICCID, on purpose and with a reason (audited). Answers the page, no redirect:
    the full values are never in a URL or kept for later."""
    found = _order_or_404(number)
    form = RevealForm()
    if not form.validate_on_submit():
        return _detail(found, status=422, reveal_form=form)
    try:
        shown = staff_actions.reveal(_me(), found, form.reason.data)
    except staff_actions.ActionRefused as error:
        form.reason.errors.append(str(error))
        db.session.rollback()
        return _detail(found, status=422, reveal_form=form)
    db.session.commit()
    return _detail(found, revealed=shown)


def _me():
    staff = current_staff()
    assert staff is not None  # staff_required let the request through
    return staff


def _act(number: str, form, action, done_message: str):
    found = _order_or_404(number)
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return _detail(found, status=422)
    try:
        message = action(found, form)
    except staff_actions.ActionRefused as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect_after_post(url_for("staff.order", number=found.number))
    db.session.commit()
    flash(message or done_message)
    return redirect_after_post(url_for("staff.order", number=found.number))


@bp.post("/orders/<number>/resend")
@staff_required("agent")
def resend(number: str):
    """Send the confirmation SMS or the receipt link again (once per click, however often it arrives)."""

    def action(order, form):
        sent = staff_actions.resend(_me(), order, form.kind.data, form.request_id.data, form.reason.data)
        return None if sent else _("That message was already sent.")

    return _act(number, ResendForm(), action, _("The message is on its way."))


@bp.post("/orders/<number>/retry")
@staff_required("agent")
def retry(number: str):
    """Try adding the data to the card once more now."""

    def action(order, form):
        added = staff_actions.retry_fulfilment(_me(), order, form.reason.data)
        return None if added else _("The carrier did not take it this time. The order stays here.")

    return _act(number, RetryForm(), action, _("The data is on the card."))


@bp.post("/orders/<number>/added")
@staff_required("agent")
def added(number: str):
    """Record that the data was added at the carrier by hand, with the carrier's reference."""

    def action(order, form):
        staff_actions.mark_added(_me(), order, form.reference.data, form.reason.data)

    return _act(number, AddedByHandForm(), action, _("Marked as added. The order is complete."))


@bp.post("/orders/<number>/notes")
@staff_required("agent")
def add_note(number: str):
    """Keep a note on the order."""

    def action(order, form):
        staff_actions.add_note(_me(), order, form.body.data)

    return _act(number, NoteForm(), action, _("Note added."))


@bp.get("/audit")
@staff_required("supervisor")
def audit_log():
    """The latest staff actions, newest first."""
    entries = audit.recent(100)
    return render_page("staff/audit.html", entries=entries, order_numbers=audit.order_numbers(entries))
