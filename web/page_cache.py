"""A short in-process cache of whole pages for visitors without a session, and of catalogue fragments.

Visitors: most traffic is travellers browsing plans before signing in; those pages depend only on the
URL, the language and the htmx headers. Such a page (a view marked @cached_for_visitors) is served from
here only to a request that carries no session cookie, and kept only when rendering it put nothing in
the session (no CSRF token, no flash), so nothing personal is ever shared.

No page of a signed-in traveller is kept: those show money, orders and balances, which any worker,
notification or job may change at any moment. They are made cheap to render instead.

The lookup is the app's first before_request hook, so a hit skips the rate limiter and the view.
Pages are kept as sent: compressed for the request's Accept-Encoding (compression runs before keep()),
so the key includes that header and a hit is sent as stored, never compressed again.
A copy lives PAGE_CACHE_SECONDS at most, and less when its view says so (stays_right_for).
"""

import math
import time
from collections.abc import Callable
from typing import NamedTuple

from flask import Flask, Response, current_app, g, request, session
from flask_babel import get_locale
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

from extensions import db
from rules.offers import catalogue_version
from web import locale_choice

MAX_ENTRIES = 2048  # the oldest go first; a page is 1-4 KB as kept
# Each worker asks the database for the catalogue version at most this often (rules/catalogue_version):
# a change made through another worker empties this one's visitor pages within a second.
VERSION_CHECK_SECONDS = 1.0
KEPT_HEADERS = ("HX-Push-Url", "Content-Type", "Content-Encoding", "Vary")


class Kept(NamedTuple):
    expires: float  # time.monotonic()
    body: bytes
    headers: dict


def cached_for_visitors(view):
    """Mark a view whose page may be cached for visitors without a session."""
    view.cached_for_visitors = True
    return view


def stays_right_for(seconds: float | None) -> None:
    """The page being rendered may be kept at most `seconds` (a price or a pay window ends); 0: not at
    all; None: no limit of its own."""
    if seconds is not None:
        g.page_seconds = min(seconds, g.get("page_seconds", math.inf))


def _marked(flag: str) -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return request.method == "GET" and getattr(view, flag, False) and current_app.config["PAGE_CACHE_SECONDS"] > 0


def _for_visitor() -> bool:
    return _marked("cached_for_visitors") and current_app.config["SESSION_COOKIE_NAME"] not in request.cookies


def _key() -> tuple:
    headers = request.headers
    return (
        request.host,
        request.full_path,
        locale_choice.select_locale(),
        headers.get("HX-Request"),
        headers.get("HX-Target"),
        headers.get("HX-History-Restore-Request"),
        headers.get("Accept-Encoding", ""),
    )


def _store() -> dict:
    return current_app.extensions["page_cache"]


def _catalogue_seen(version: int | None) -> None:
    """Forget every kept page and part when the catalogue version moved since this worker last looked."""
    seen = current_app.extensions["page_cache_version"]  # [last checked (monotonic), version seen]
    seen[0] = time.monotonic()
    g.catalogue_version_checked = True
    if version != seen[1]:
        _store().clear()
        seen[1] = version


def _check_catalogue(check_every: float = VERSION_CHECK_SECONDS) -> None:
    if time.monotonic() - current_app.extensions["page_cache_version"][0] < check_every:
        return
    try:
        version = catalogue_version.current()
    except SQLAlchemyError:  # no table yet (an old database): keep the short expiry alone
        db.session.rollback()
        return
    _catalogue_seen(version)


def _hit(key: tuple) -> Response | None:
    kept = _store().get(key)
    if kept is None or kept.expires <= time.monotonic():
        return None
    g.page_cache_hit = True
    return Response(kept.body, 200, headers=kept.headers)


def serve_hit() -> Response | None:
    if not _for_visitor():
        return None
    _check_catalogue()
    return _hit(_key())


def keep(response: Response) -> Response:
    if response.status_code != 200 or g.get("page_cache_hit") or response.direct_passthrough:
        return response
    if not _for_visitor() or len(session):
        return response
    seconds = min(current_app.config["PAGE_CACHE_SECONDS"], g.get("page_seconds", math.inf))
    if seconds > 0:
        headers = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
        _put(_key(), Kept(time.monotonic() + seconds, response.get_data(), headers))
    return response


def _put(key: tuple, value) -> None:
    store = _store()
    store.pop(key, None)
    while len(store) >= MAX_ENTRIES:
        try:  # the oldest kept; other threads of this worker may be taking or clearing entries meanwhile
            store.pop(next(iter(store)), None)
        except (StopIteration, RuntimeError):
            break
    store[key] = value


def fragment(key: tuple, render: Callable[[], tuple[str, float | None]]) -> Markup:
    """A part of a page that is the same for everyone in a language (e.g. the plan list), kept here.

    `render()` gives (html, seconds it stays right or None). Kept at most PAGE_CACHE_SECONDS, and
    forgotten as soon as the catalogue version moved: that is checked on every lookup (one small
    query, unless this request read it already), so a signed-in traveller never sees an older
    catalogue than before this cache. The page around it stays right no longer than the part.
    """
    seconds = current_app.config["PAGE_CACHE_SECONDS"]
    if seconds <= 0:
        return Markup(render()[0])
    if not g.get("catalogue_version_checked"):
        _check_catalogue(check_every=0)
    full_key = ("fragment", str(get_locale()), request.script_root, *key)
    now = time.monotonic()
    hit = _store().get(full_key)
    if hit is None or hit[0] <= now:
        html, valid_for = render()
        hit = (now + min(seconds, valid_for if valid_for is not None else seconds), Markup(html))
        _put(full_key, hit)
    stays_right_for(hit[0] - now)
    return hit[1]


def init_app(app: Flask) -> None:
    """Call before the other extensions, so the lookup runs first."""
    app.extensions["page_cache"] = {}
    app.extensions["page_cache_version"] = [float("-inf"), None]
    app.before_request(serve_hit)
    app.after_request(keep)


def clear() -> None:
    """Forget every cached page (after the catalogue changes)."""
    _store().clear()
