"""The signed-in home: what is left on each card, when it ends, one tap to renew, and its reminder switch."""

from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from extensions import db
from rules.text import locales
from rules.travellers import card_binding, reminders, usage
from web.forms import EmptyForm
from web.rendering import redirect_after_post, render_page, wants_fragment

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.get("")
@login_required
def index():
    """Every card with its usage bar, packs and forecast; htmx "Refresh" swaps only the usage part.

    The full page shows what is kept and never waits on the carrier; the usage part (htmx, or
    ?refresh=1 without JavaScript) asks it for what is not recent."""
    cards = current_user.cards
    usages = usage.read_usage(cards, ask_carrier=wants_fragment() or request.args.get("refresh") == "1")
    return render_page(
        "account/index.html",
        fragments={"usage": "usage"},
        usages=usages,
        reminders_on=reminders.enabled_card_ids(current_user),
        has_cards=bool(cards),
    )


@bp.post("/cards/<int:card_id>/reminders")
@login_required
def set_reminders(card_id: int):
    """Turn reminder texts for one card on or off (form field reminders=on|off), in the current language;
    htmx swaps just the switch, without JS it is back to this page."""
    card = card_binding.owned_card(current_user, card_id)
    if card is None:
        abort(404)
    choice = request.form.get("reminders")
    if not EmptyForm().validate_on_submit() or choice not in ("on", "off"):
        abort(400)
    reminders.set_enabled(card, current_user._get_current_object(), choice == "on", locales.current())
    db.session.commit()
    if wants_fragment():
        return render_template("account/_reminders.html", card=card, on=choice == "on", changed=True)
    flash(_("Reminders turned on.") if choice == "on" else _("Reminders turned off."))
    return redirect_after_post(url_for("account.index"))
