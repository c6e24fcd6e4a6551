"""Receipts: what a traveller keeps, and a public check that one is genuine."""

import hashlib
import hmac

import segno
from flask import current_app, url_for
from markupsafe import Markup

from models import Order

RECEIPT_STATES = {"paid", "fulfilled", "refunded"}


def verification_token(number: str) -> str:
    """Unguessable without our key, so only a real receipt's QR code opens its verification page."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"receipt:{number}".encode(), hashlib.sha256).hexdigest()[:24]


def token_matches(number: str, token: str) -> bool:
    return hmac.compare_digest(verification_token(number), token or "")


def verification_url(order: Order) -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for(
        "account_orders.verify_receipt", number=order.number, token=verification_token(order.number)
    )


def qr_svg(url: str) -> Markup:
    """An inline SVG QR code (no image request, prints sharply)."""
    return Markup(segno.make(url, error="m").svg_inline(scale=4, border=2, dark="#1b2428"))
