"""The traveller's cards: bind (with a code texted to the card when it is not the signed-in number),
list, nickname, unbind."""

from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from blueprints.main import safe_next
from extensions import db, limiter
from gateways import sms
from rules.text import formatting
from rules.travellers import card_binding, login_codes
from web.forms import BindCardForm, CodeForm, EmptyForm, NicknameForm
from web.rendering import redirect_after_post, render_page

bp = Blueprint("cards", __name__, url_prefix="/cards")
PENDING = "pending_card"  # the card waiting for its code, in the session only: it blocks nobody


def _limit(name: str):
    return lambda: current_app.config[name]


@bp.before_request
@login_required
def require_login():
    """Every page here belongs to a signed-in traveller."""


def _render(form: BindCardForm, status: int = 200):
    return render_page(
        "cards/index.html",
        form=form,
        cards=current_user.cards,
        status=status,
    )


@bp.get("")
def index():
    """The cards bound to this account, and the form to bind another."""
    return _render(BindCardForm(next=safe_next(request.args.get("next"), "")))


def _bound(card, next_url: str):
    db.session.commit()
    flash(_("Card %(number)s added.", number=card.msisdn))
    return redirect_after_post(safe_next(next_url, url_for("cards.index")))


@bp.post("")
@limiter.limit(_limit("SIGNIN_BURST_LIMIT"))
def bind():
    """Bind the signed-in number at once; for any other number, text it a code first."""
    form = BindCardForm()
    if not form.validate_on_submit():
        return _render(form, status=422)
    account = current_user._get_current_object()
    status = 422
    try:
        typed = card_binding.parse(form.number.data, form.iccid.data, form.nickname.data)
        card_binding.check_with_carrier(typed["msisdn"], typed["iccid"])  # before anything is written
        if not card_binding.needs_code(account, typed["msisdn"]):
            return _bound(card_binding.bind(account, **typed), form.next.data)
        card_binding.check_room(account, typed["msisdn"], typed["iccid"])
        message_id = login_codes.send_code(typed["msisdn"], request.remote_addr, login_codes.BIND_CARD, account.id)
    except card_binding.CardRefused as error:
        getattr(form, error.field or "number").errors.append(str(error))
    except login_codes.CodeRefused as error:
        status = 429 if isinstance(error, login_codes.TooManyCodes) else 422
        form.number.errors.append(str(error))
    else:
        db.session.commit()
        sms.send_now(message_id)  # after the commit: no lock held while the provider answers
        session[PENDING] = {**typed, "next": safe_next(form.next.data, "")}
        return redirect_after_post(url_for("cards.confirm"))
    db.session.rollback()
    return _render(form, status=status)


@bp.route("/confirm", methods=["GET", "POST"])
@limiter.limit(_limit("VERIFY_IP_LIMIT"), methods=["POST"])
def confirm():
    """Type the code texted to the card's number; the card is bound only then."""
    pending = session.get(PENDING)
    if not pending:
        return redirect(url_for("cards.index"))
    account = current_user._get_current_object()
    form = CodeForm()
    if form.validate_on_submit():
        try:
            login_codes.check_code(pending["msisdn"], form.code.data, login_codes.BIND_CARD, account.id)
        except login_codes.CodeRefused as error:
            form.code.errors.append(str(error))
            db.session.commit()  # the try counts
        else:
            try:
                card = card_binding.bind(account, pending["msisdn"], pending["iccid"], pending["nickname"])
            except card_binding.CardRefused as error:
                db.session.commit()  # the code is used either way
                session.pop(PENDING, None)
                flash(str(error), "error")
                return redirect_after_post(url_for("cards.index"))
            session.pop(PENDING, None)
            return _bound(card, pending.get("next", ""))
    return render_page(
        "cards/confirm.html",
        form=form,
        card_phone=pending["msisdn"],  # typed by this person: shown whole
        resend_form=EmptyForm(),
        wait=login_codes.seconds_until_resend(
            pending["msisdn"], login_codes.BIND_CARD, account.id, request.remote_addr
        ),
        status=422 if form.errors else 200,
    )


@bp.post("/confirm/resend")
@limiter.limit(_limit("SIGNIN_BURST_LIMIT"))
def resend():
    """Text a new code to the card waiting for one."""
    pending = session.get(PENDING)
    if not pending or not EmptyForm().validate_on_submit():
        return redirect_after_post(url_for("cards.index"))
    try:
        message_id = login_codes.send_code(
            pending["msisdn"], request.remote_addr, login_codes.BIND_CARD, current_user.id
        )
        db.session.commit()
        sms.send_now(message_id)
        flash(_("A new code is on its way."))
    except login_codes.CodeRefused as error:
        db.session.rollback()
        flash(str(error), "error")
    return redirect_after_post(url_for("cards.confirm"))


def _own_card_or_404(card_id: int):
    card = card_binding.owned_card(current_user, card_id)
    if card is None:
        abort(404)
    return card


@bp.route("/<int:card_id>", methods=["GET", "POST"])
def edit(card_id: int):
    """One card: change its nickname; ?remove=1 asks whether to remove it (the confirm step, no JS needed)."""
    card = _own_card_or_404(card_id)
    form = NicknameForm(nickname=card.nickname or "")
    if form.validate_on_submit():
        try:
            card_binding.rename(card, form.nickname.data)
        except card_binding.CardRefused as error:
            form.nickname.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Nickname saved."))
            return redirect_after_post(url_for("cards.index"))
    return render_page(
        "cards/edit.html",
        card=card,
        form=form,
        action_form=EmptyForm(),
        confirming_removal=request.args.get("remove") == "1",
        status=422 if form.errors else 200,
    )


@bp.post("/<int:card_id>/unbind")
def unbind(card_id: int):
    """Remove a card from this account (its orders stay)."""
    card = _own_card_or_404(card_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    card_binding.unbind(card)
    db.session.commit()
    flash(_("Card %(number)s removed.", number=formatting.phone(card.msisdn)))
    return redirect_after_post(url_for("cards.index"))
