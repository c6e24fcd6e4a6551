"""Strict security headers on every response, and private pages kept out of shared caches."""

from flask import current_app, request, session
from flask_login import current_user

from web.rendering import vary_on

# Pages that are private whoever asks: a receipt, an order's live state, the receipt check (its
# token is in the URL), and the return from the cashier (signed payment details in the query).
ALWAYS_PRIVATE = {
    "account_orders.receipt",
    "account_orders.status",
    "account_orders.verify_receipt",
    "payments.alipay_return",
}


def add_headers(response):
    headers = current_app.extensions.get("security_headers")
    if headers is None:  # the same for every response of this app: built once
        headers = current_app.extensions["security_headers"] = _headers()
    present = {name.lower() for name, _value in response.headers.items()}
    for name, value in headers:
        if name.lower() not in present:
            response.headers.add(name, value)
    return response


def _headers() -> list[tuple[str, str]]:
    form_targets = "'self' " + current_app.config["ALIPAY_FORM_ORIGIN"]
    headers = {
        "Content-Security-Policy": (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            f"form-action {form_targets.strip()}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if current_app.config["PRODUCTION"]:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return list(headers.items())


def _private() -> bool:
    if request.endpoint in ALWAYS_PRIVATE:
        return True
    if request.endpoint == "static":
        return False  # the same files for everyone: let browsers keep them
    # `session` is non-empty once it holds a CSRF token, a flash or a sign-in in progress.
    return bool(session) or (current_user and current_user.is_authenticated)


def private_pages(response):
    """`no-store` for anything personal; `Vary` on what chose the language of a page."""
    if _private():
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("Expires", None)
    if response.mimetype == "text/html":
        # The language comes from the `lang` cookie, else from Accept-Language.
        vary_on(response, "Accept-Language", "Cookie")
    return response
