"""A short in-process cache of catalogue pages for visitors who have no session.

Most traffic is travellers browsing plans before signing in; those pages depend only on the URL,
the language and the htmx headers. A page is served from here only to a request that carries no
session cookie, and stored only when rendering it put nothing in the session (no CSRF token, no
flash), so nothing personal is ever cached. The lookup is the app's first before_request hook, so
a hit skips the rate limiter, the user loader and the view.

Pages are kept as sent: compressed for the request's Accept-Encoding (compression runs before
keep()), so the key includes that header and a hit is sent as stored, never compressed again.
"""

import time
from collections.abc import Callable

from flask import Flask, Response, current_app, g, request, session
from flask_babel import get_locale
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

from extensions import db
from rules import catalogue_version, locales

MAX_ENTRIES = 512
# Each worker asks the database for the catalogue version at most this often (rules/catalogue_version):
# a change made through another worker empties this one's cache within a second.
VERSION_CHECK_SECONDS = 1.0
KEPT_HEADERS = ("HX-Push-Url", "Content-Type", "Content-Encoding")


def cached_for_visitors(view):
    """Mark a view whose page may be cached for visitors without a session."""
    view.cached_for_visitors = True
    return view


def _cacheable() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return (
        request.method == "GET"
        and getattr(view, "cached_for_visitors", False)
        and current_app.config["PAGE_CACHE_SECONDS"] > 0
        and current_app.config["SESSION_COOKIE_NAME"] not in request.cookies
    )


def _key() -> tuple:
    headers = request.headers
    return (
        request.full_path,
        locales.select_locale(),
        headers.get("HX-Request"),
        headers.get("HX-Target"),
        headers.get("HX-History-Restore-Request"),
        headers.get("Accept-Encoding", ""),
    )


def _store() -> dict:
    return current_app.extensions["page_cache"]


def _forget_if_catalogue_changed(check_every: float = VERSION_CHECK_SECONDS) -> None:
    seen = current_app.extensions["page_cache_version"]  # [last checked (monotonic), version seen]
    now = time.monotonic()
    if now - seen[0] < check_every:
        return
    seen[0] = now
    g.catalogue_version_checked = True
    try:
        version = catalogue_version.current()
    except SQLAlchemyError:  # no table yet (an old database): keep the short expiry alone
        db.session.rollback()
        return
    if version != seen[1]:
        _store().clear()
        seen[1] = version


def serve_hit():
    if not _cacheable():
        return None
    _forget_if_catalogue_changed()
    hit = _store().get(_key())
    if hit and hit[0] > time.monotonic():
        g.page_cache_hit = True
        return Response(hit[1], 200, headers=hit[2])
    return None


def keep(response: Response) -> Response:
    if (
        response.status_code == 200
        and not g.get("page_cache_hit")
        and not len(session)
        and _cacheable()
        and not response.direct_passthrough
    ):
        store = _store()
        if len(store) >= MAX_ENTRIES:
            store.clear()
        headers = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
        store[_key()] = (time.monotonic() + current_app.config["PAGE_CACHE_SECONDS"], response.get_data(), headers)
    return response


def fragment(key: tuple, render: Callable[[], tuple[str, float | None]]) -> Markup:
    """A part of a page that is the same for everyone in a language (e.g. the plan list), kept here.

    `render()` gives (html, seconds it stays right or None). Kept at most PAGE_CACHE_SECONDS, and
    forgotten as soon as the catalogue version moved: that is checked on every lookup (one small
    query), so a signed-in traveller never sees an older catalogue than before this cache.
    """
    seconds = current_app.config["PAGE_CACHE_SECONDS"]
    if seconds <= 0:
        return Markup(render()[0])
    if not g.get("catalogue_version_checked"):  # once a request at most (serve_hit may have asked)
        _forget_if_catalogue_changed(check_every=0)
    full_key = ("fragment", str(get_locale()), request.script_root, *key)
    store = _store()
    hit = store.get(full_key)
    now = time.monotonic()
    if hit and hit[0] > now:
        return hit[1]
    html, valid_for = render()
    if len(store) >= MAX_ENTRIES:
        store.clear()
    store[full_key] = (now + min(seconds, valid_for if valid_for is not None else seconds), Markup(html))
    return store[full_key][1]


def init_app(app: Flask) -> None:
    """Call before the other extensions, so the lookup runs first."""
    app.extensions["page_cache"] = {}
    app.extensions["page_cache_version"] = [float("-inf"), None]
    app.before_request(serve_hit)
    app.after_request(keep)


def clear() -> None:
    """Forget every cached page (after the catalogue changes)."""
    _store().clear()
