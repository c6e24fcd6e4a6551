"""Strict security headers on every response, and private pages kept out of shared caches."""

from flask import current_app, request, session
from flask_login import current_user

from web.rendering import vary_on


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
    config = current_app.config
    form_targets = " ".join(filter(None, ("'self'", config["ALIPAY_FORM_ORIGIN"], config["STRIPE_FORM_ORIGIN"])))
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


def _shareable() -> bool:
    """Whether a cache may keep this answer: only a catalogue page (a view marked
    @cached_for_visitors, the same for every visitor) asked without a session, and static files.

    Everything else is private by default, so a route added later (a receipt, a page behind a
    token) is never stored without anyone having to remember to list it.
    """
    if request.endpoint == "static":
        return True  # the same files for everyone: let browsers keep them
    view = current_app.view_functions.get(request.endpoint or "")
    if not getattr(view, "cached_for_visitors", False):
        return False
    # `session` is non-empty once it holds a CSRF token, a flash or a sign-in in progress.
    return not (session or (current_user and current_user.is_authenticated))


def private_pages(response):
    """`no-store` for anything personal; `Vary` on what chose the language of a page."""
    if not _shareable():
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("Expires", None)
    if response.mimetype == "text/html":
        # The language comes from the `lang` cookie, else from Accept-Language.
        vary_on(response, "Accept-Language", "Cookie")
    return response
