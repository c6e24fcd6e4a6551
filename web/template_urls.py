"""`url_for` in templates, remembered: a page builds the same few dozen URLs on every request.

Werkzeug builds a URL in ~15 µs; an orders page asks for two per order. The answer depends only on
the endpoint, its values, the request's blueprint (for ".name"), host and script root (taken raw
from the WSGI environ, which determines them), since no url_defaults here read request state
(static_files' hashing depends on the file name alone).
Only plain values (str, int, bool, None) are remembered; anything else, or a `_external` /
`_anchor`-style option, is built every time. The memory is bounded: it is emptied when full.
"""

from flask import Flask, request

MAX_URLS = 4096
PLAIN = (str, int, bool, type(None))


def init_app(app: Flask) -> None:
    build = app.url_for
    remembered: dict[tuple, str] = {}

    def url_for(endpoint: str, **values) -> str:
        for name, value in values.items():
            if name[0] == "_" or type(value) not in PLAIN:
                return build(endpoint, **values)
        # One proxy lookup, not four.
        current = request._get_current_object()  # type: ignore[attr-defined]
        environ = current.environ
        key = (
            endpoint,
            current.blueprint if endpoint[0] == "." else None,
            environ.get("HTTP_HOST"),
            environ.get("SERVER_NAME"),
            environ.get("SCRIPT_NAME"),
            *sorted(values.items()),
        )
        url = remembered.get(key)
        if url is None:
            if len(remembered) >= MAX_URLS:
                remembered.clear()
            url = remembered[key] = build(endpoint, **values)
        return url

    app.jinja_env.globals["url_for"] = url_for
