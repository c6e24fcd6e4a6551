"""The signed-in home: what is left on each card, when it ends, and one tap to renew."""

from flask import Blueprint
from flask_login import current_user, login_required

from rules import usage
from web.rendering import render_page

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.get("")
@login_required
def index():
    """Every card with its usage bar, packs and forecast; htmx "Refresh" swaps only the usage part."""
    cards = current_user.cards
    return render_page(
        "account/index.html",
        fragments={"usage": "usage"},
        usages=usage.read_usage(cards),
        has_cards=bool(cards),
    )
