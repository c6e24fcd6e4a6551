"""Sandbox-only pages (registered only when the app runs on its embedded defaults)."""

from flask import Blueprint
from sqlalchemy import select

from extensions import db
from models import SmsMessage
from web.rendering import render_page

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")


@bp.get("/sms")
def sms_outbox():
    """The SMS outbox: what would have been texted, newest first."""
    messages = db.session.scalars(select(SmsMessage).order_by(SmsMessage.id.desc()).limit(50)).all()
    return render_page("sandbox/sms.html", messages=messages)
