"""One URL, two renderings: the full page, or for htmx only the block that changes.

This is the one place that decides "page or fragment". A fragment is a block of the page's own
template, rendered with jinja2-fragments, never a copy.
"""

from urllib.parse import quote

from flask import Response, redirect, render_template, request, session
from jinja2_fragments.flask import render_block


class PageProblem(Exception):
    """A step that cannot go on (unknown plan, not your card, order not payable…): the blueprint shows
    the message on its own problem page with this status, and nothing has changed."""

    def __init__(self, message: str, status: int = 404):
        super().__init__(message)
        self.status = status


def wants_fragment() -> bool:
    """True for an htmx swap; a history restore after a cache miss needs the full page."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def render_page(template: str, *, fragments: dict[str, str] | None = None, status: int = 200, **context):
    """Render `template` whole, or its `content` block (with the title) for htmx.

    `fragments` maps an element id that htmx may target (HX-Target) to the block that fills it,
    e.g. {"plan-list": "plan_list"} for a filter that only replaces the list.
    """
    if not wants_fragment():
        return render_template(template, **context), status
    block = (fragments or {}).get(request.headers.get("HX-Target", ""), "content")
    html = render_block(template, block, **context)
    if block == "content":
        # The same parts that base.html puts in <main>: htmx takes the title from the swap.
        title = render_block(template, "title", **context)
        html = f"<title>{title}</title>\n{render_template('_flashes.html')}{html}"
    elif "_flashes" in session:
        # A part of the page (a form that targets itself, a poll): its messages go to the page's
        # message region out of band, here, instead of waiting in the session for another page.
        html += render_template("_flashes.html", oob=True)
    response = Response(html, status)
    if request.method == "GET" and block == "content":
        # After a redirect, this is the page's own address (a part of a page pushes nothing).
        response.headers["HX-Push-Url"] = pushed_url()
    return response


def pushed_url() -> str:
    """This request's path and query, percent-encoded: a header cannot carry CR/LF or non-Latin-1 text."""
    path = quote(request.path, safe="/:@!$&'()*+,;=-._~")
    query = quote(request.query_string, safe="/:@!$&'()*+,;=-._~?%")
    return f"{path}?{query}" if query else path


def redirect_after_post(url: str):
    """303 after a change, so a reload never repeats it (htmx follows it like a browser)."""
    return redirect(url, code=303)


def redirect_full_page(url: str):
    """A full page load even for htmx, e.g. after sign-in when the CSRF token in <body> changed."""
    if request.headers.get("HX-Request") == "true":
        return Response(status=204, headers={"HX-Redirect": url})
    return redirect(url, code=303)


def add_vary(response: Response) -> Response:
    vary_on(response, "HX-Request")
    return response


def vary_on(response: Response, *names: str) -> None:
    """Add `names` to the response's Vary header, once each (on every response: kept cheap, no parsing)."""
    current = response.headers.get("Vary", "")
    have = {part.strip().lower() for part in current.split(",")}
    missing = [name for name in names if name.lower() not in have]
    if missing:
        response.headers["Vary"] = ", ".join([current, *missing] if current else missing)
