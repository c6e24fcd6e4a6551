"""The plan catalogue: filter by trip length and region, and one plan's details."""

from flask import Blueprint, abort, render_template, request

from rules.offers import catalogue
from web import page_cache
from web.page_cache import cached_for_visitors
from web.rendering import render_page

bp = Blueprint("plans", __name__, url_prefix="/plans")


@bp.get("")
@cached_for_visitors
def index():
    """Plans on sale, filtered by ?length=trip|resident and ?region=hk|hk_cn|hk_cn_mo."""
    length = request.args.get("length", "")
    length = length if length in catalogue.LENGTHS else ""
    region = request.args.get("region", "")
    region = region if region in catalogue.REGIONS else ""
    return render_page(
        "plans/index.html",
        plan_list=page_cache.fragment(("plans.list", length, region), lambda: _plan_list(length, region)),
        length=length,
        region=region,
        lengths=catalogue.LENGTHS,
        regions=catalogue.REGIONS,
        fragments={"plan-list": "plan_list"},
    )


def _plan_list(length: str, region: str) -> tuple[str, float | None]:
    """The list's HTML (the same for every traveller in a language), and how long it stays right."""
    plans = catalogue.active_plans(length, region)
    html = render_template(
        "plans/_list.html",
        plans=plans,
        regions=catalogue.REGIONS,
        price=catalogue.current_price_cents,
        on_sale=catalogue.on_sale,
    )
    return html, catalogue.seconds_until_price_change(plans)


@bp.get("/<code>")
@cached_for_visitors
def detail(code: str):
    """One plan: what it gives, where, for how long, and its price."""
    plan = catalogue.plan_by_code(code[:40])
    if plan is None:
        abort(404)
    page_cache.stays_right_for(catalogue.seconds_until_price_change([plan]))
    return render_page(
        "plans/detail.html",
        plan=plan,
        regions=catalogue.REGIONS,
        price=catalogue.current_price_cents,
        on_sale=catalogue.on_sale,
    )
