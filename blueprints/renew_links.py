"""The short link in a reminder text, /r/<token>: it opens the renew flow for its card.

Opening it signs nobody in: it leads to the sign-in page (then the checkout), or straight to the
checkout when already signed in as the account it was sent for. A link whose card has since been
unbound, or bound to someone else, opens nothing.
"""

from flask import Blueprint, redirect, url_for
from flask_login import current_user

from rules.travellers import reminders
from web.rendering import render_page

bp = Blueprint("renew_links", __name__)


@bp.get("/r/<token>")
def open_link(token: str):
    """Send the traveller on to top up the card the reminder was about."""
    link = reminders.open_link(token)
    if link is None:
        return render_page("renew_links/gone.html", status=404)
    checkout = url_for("checkout.review", card=link.card_id)
    if current_user.is_authenticated and current_user.id == link.account_id:
        return redirect(checkout, code=303)
    return redirect(url_for("auth.login", next=checkout), code=303)
