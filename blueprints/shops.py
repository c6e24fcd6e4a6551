"""/shops: every place to renew in person, by kind and district, open now or when it opens (Hong Kong time)."""

from flask import Blueprint, request
from flask_babel import gettext as _

from rules.shops import places
from web.rendering import render_page

bp = Blueprint("shops", __name__)


@bp.get("/shops")
def index():
    """The list, filtered by kind and district (a plain GET form: works without JavaScript)."""
    kind, district = request.args.get("kind", ""), request.args.get("district", "")
    problem = None
    if kind not in ("", *places.KINDS) or district not in ("", *places.DISTRICTS):
        problem = _("That filter is not one of the choices: showing every place.")
        kind = district = ""
    shown = places.listed(kind, district)
    districts = {p.location.district: p.district for p in places.listed()}
    return render_page(
        "shops/index.html",
        status=400 if problem else 200,
        fragments={"shop-list": "shop_list"},
        places=shown,
        kind=kind,
        district=district,
        kinds=places.KINDS,
        districts=districts,
        problem=problem,
    )
