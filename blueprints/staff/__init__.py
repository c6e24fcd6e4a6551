"""The staff area under /staff: sign-in (auth), orders and their actions (orders), `flask staff …` (commands).

Every view declares the least role it needs (web.staff_auth.staff_required / staff_public); the role
matrix test walks the URL map and fails for a staff route that declares nothing.
"""

from flask import Blueprint

from blueprints.staff import labels
from rules.ordering import fulfilment
from rules.payments import refunds
from rules.staff import counter_payments
from web import staff_auth

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.record_once
def _template_globals(state) -> None:
    # Globals, not a context processor: render_block (htmx fragments) sees them too.
    state.app.jinja_env.globals.update(
        current_staff=staff_auth.current_staff,
        staff_may=staff_auth.may,
        staff_is_partner=staff_auth.is_partner,
        RETRYABLE=fulfilment.RETRYABLE,
        CAUSES=labels.CAUSES,
        REFUND_STATUS=labels.REFUND_STATUS,
        REFUND_REASONS=labels.REFUND_REASONS,
        NOTIFICATION_OUTCOMES=labels.NOTIFICATION_OUTCOMES,
        RECON_STATUS=labels.RECON_STATUS,
        ROLE_NAMES=labels.ROLE_NAMES,
        RECON_KINDS=labels.RECON_KINDS,
        ID_KINDS=counter_payments.ID_KINDS,
    )
    state.app.jinja_env.filters["age"] = labels.age
    state.app.jinja_env.filters["refund_method"] = refunds.method_words  # "counter" -> "At the counter"


from blueprints.staff import (  # noqa: E402, F401  (their routes join bp)
    admin_catalogue,
    admin_locations,
    admin_staff,
    auth,
    commands,
    counter,
    days,
    errors,
    money,
    orders,
    refund_requests,
    reports,
)
