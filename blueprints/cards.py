"""The traveller's cards: bind, list, nickname, unbind."""

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from blueprints.main import safe_next
from extensions import db
from rules import card_binding
from web.forms import BindCardForm, EmptyForm, NicknameForm
from web.rendering import redirect_after_post, render_page

bp = Blueprint("cards", __name__, url_prefix="/cards")


@bp.before_request
@login_required
def require_login():
    """Every page here belongs to a signed-in traveller."""


def _render(form: BindCardForm, status: int = 200):
    return render_page("cards/index.html", form=form, cards=current_user.cards, action_form=EmptyForm(), status=status)


@bp.get("")
def index():
    """The cards bound to this account, and the form to bind another."""
    return _render(BindCardForm(next=safe_next(request.args.get("next"), "")))


@bp.post("")
def bind():
    """Bind a card by its number and ICCID."""
    form = BindCardForm()
    if form.validate_on_submit():
        try:
            card = card_binding.bind(current_user, form.number.data, form.iccid.data, form.nickname.data)
        except card_binding.CardRefused as error:
            db.session.rollback()
            getattr(form, error.field or "number").errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Card %(number)s added.", number=card.msisdn))
            return redirect_after_post(safe_next(form.next.data, url_for("cards.index")))
    return _render(form, status=422)


def _own_card_or_404(card_id: int):
    card = card_binding.owned_card(current_user, card_id)
    if card is None:
        abort(404)
    return card


@bp.route("/<int:card_id>", methods=["GET", "POST"])
def edit(card_id: int):
    """One card: change its nickname."""
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
        "cards/edit.html", card=card, form=form, action_form=EmptyForm(), status=422 if form.errors else 200
    )


@bp.post("/<int:card_id>/unbind")
def unbind(card_id: int):
    """Remove a card from this account (its orders stay)."""
    card = _own_card_or_404(card_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    card_binding.unbind(card)
    db.session.commit()
    flash(_("Card %(number)s removed.", number=card.msisdn))
    return redirect_after_post(url_for("cards.index"))
