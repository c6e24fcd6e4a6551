"""Checks on a request before any view sees it: body size per view, and characters no column can hold.

PostgreSQL refuses NUL in text, so a NUL in a path, a query or a form field would reach the database
as an error (a 500). It is refused here for every route at once, with a 400, before anything runs.
"""

from collections.abc import Callable

from flask import Flask, abort, current_app, request

NUL = "\x00"


def body_limit(max_bytes: int) -> Callable:
    """Mark a view whose request body may be at most `max_bytes`, chunked bodies included.

    Werkzeug applies `request.max_content_length` to a body without Content-Length only when the
    server terminates the stream (gunicorn and the development server both do): reading past it
    raises 413, so nothing larger is ever held in memory or stored.
    """

    def mark(view):
        view.max_body_bytes = max_bytes
        return view

    return mark


def _has_nul(multidict) -> bool:
    return any(NUL in key or NUL in value for key, value in multidict.items(multi=True))


def check_request():
    view = current_app.view_functions.get(request.endpoint or "")
    limit = getattr(view, "max_body_bytes", None)
    if limit is not None:
        request.max_content_length = limit  # before anything reads the body
    if NUL in request.path or _has_nul(request.args):
        abort(400)
    if request.method == "POST" and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        request.get_data(cache=True)  # kept, so a view can still read the raw body (e.g. to store it)
        if _has_nul(request.form):
            abort(400)


def init_app(app: Flask) -> None:
    app.before_request(check_request)
