"""Checks on a request before any view sees it: body size per view, and characters no column can hold.

PostgreSQL refuses NUL in text, so a NUL in a path, a query or a form field would reach the database
as an error (a 500). It is refused here for every route at once, with a 400, before anything runs.
"""

from collections.abc import Callable

from flask import Flask, abort, current_app, request
from werkzeug.routing import IntegerConverter

NUL = "\x00"


def body_limit(max_bytes: int) -> Callable:
    """Mark a view whose request body may be at most `max_bytes`, chunked bodies included.

    A body with Content-Length above it is refused unread (413). A chunked body has no length:
    Werkzeug then limits the stream (gunicorn and the development server both terminate chunked
    streams), but only by stopping at the limit, so a larger body would arrive silently cut. The
    guard reads one byte more than allowed and refuses the body (413) if that byte is there.
    """

    def mark(view):
        view.max_body_bytes = max_bytes
        return view

    return mark


def _has_nul(multidict) -> bool:
    return any(NUL in key or NUL in value for key, value in multidict.items(multi=True))


def check_request():
    view = current_app.view_functions.get(request.endpoint or "")
    limit = getattr(view, "max_body_bytes", None) or current_app.config["MAX_CONTENT_LENGTH"]
    if limit is not None:  # before anything reads the body
        if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            request.max_content_length = limit + 1
            if len(request.get_data(cache=True)) > limit:
                abort(413)
        else:
            request.max_content_length = limit
    if NUL in request.path or _has_nul(request.args):
        abort(400)
    if request.method == "POST" and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        request.get_data(cache=True)  # kept, so a view can still read the raw body (e.g. to store it)
        if _has_nul(request.form):
            abort(400)


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: ids fit a 32-bit column, so a longer number is a 404, not an overflow."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):
        super().__init__(url_map, fixed_digits, min, max, signed)


def init_app(app: Flask) -> None:
    """Call before the blueprints are registered: their routes take the bounded `int` converter."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(check_request)
