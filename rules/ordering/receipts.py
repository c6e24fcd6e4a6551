"""Receipts: what a traveller keeps, and a public check that one is genuine."""

import hashlib
import hmac

import segno
from flask import current_app, url_for
from markupsafe import Markup
from sqlalchemy import select

from extensions import db
from models import Order
from rules.ordering.order_states import RECEIPT

RECEIPT_STATES = RECEIPT  # the states that have a receipt


def verification_token(number: str) -> str:
    """Unguessable without our key, so only a real receipt's QR code opens its verification page."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"receipt:{number}".encode(), hashlib.sha256).hexdigest()[:24]


def token_matches(number: str, token: str) -> bool:
    # As bytes: compare_digest refuses a str with anything but ASCII (a token typed in other digits, an emoji).
    return hmac.compare_digest(verification_token(number).encode(), (token or "").encode("utf-8", "replace"))


def genuine_order(number: str, token: str) -> Order | None:
    """The order a receipt check link is for, if the link is genuine and the order has a receipt."""
    order = db.session.scalars(select(Order).where(Order.number == number)).first()
    if order is None or order.state not in RECEIPT or not token_matches(order.number, token):
        return None
    return order


def verification_url(order: Order) -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for(
        "account_orders.verify_receipt", number=order.number, token=verification_token(order.number)
    )


def qr_svg(url: str) -> Markup:
    """An inline SVG QR code (no image request, prints sharply)."""
    return Markup(segno.make(url, error="m").svg_inline(scale=4, border=2, dark="#1b2428"))
