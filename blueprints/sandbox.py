"""Sandbox-only pages (registered only when the app runs on its embedded defaults)."""

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from extensions import db
from models import SmsMessage
from sandbox import carrier_sim
from sandbox.carrier_sim import SIMULATED_MODES, simulated_mode
from web.forms import EmptyForm
from web.rendering import redirect_after_post, render_page

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")


@bp.get("/sms")
def sms_outbox():
    """The SMS outbox: what would have been texted, newest first."""
    messages = db.session.scalars(select(SmsMessage).order_by(SmsMessage.id.desc()).limit(50)).all()
    return render_page("sandbox/sms.html", messages=messages)


@bp.get("/carrier")
def carrier_page():
    """The simulated carrier: its demo SIMs to bind, and how it answers (normally, down, timing out, slowly)."""
    return render_page(
        "sandbox/carrier.html",
        sims=carrier_sim.DEMO_SIMS,
        mode=simulated_mode(),
        modes=SIMULATED_MODES,
        mode_name=carrier_sim.mode_name,
        form=EmptyForm(),
    )


@bp.post("/carrier")
def set_carrier_mode():
    mode = request.form.get("mode", "")
    if not EmptyForm().validate_on_submit() or mode not in SIMULATED_MODES:
        abort(400)
    carrier_sim.set_mode(mode)
    db.session.commit()
    flash(_("The simulated carrier now: %(mode)s.", mode=carrier_sim.mode_name(mode)))
    return redirect_after_post(url_for("sandbox.carrier_page"))
