"""gunicorn's access log without what must not be kept: query strings and secret path segments.

The return from Alipay's cashier carries signed payment details in its query string, and several
URLs carry a secret in their path: a receipt check, a top-up order (its token opens, pays and
cancels the order), a reminder link (/r/…), a sandbox bill. One rule covers them all, and routes
added later: a URL variable named `token` is a secret. When the app is made, its routes are read
(learn_secret_routes) and the request line, the path and the referer are logged without any
query string and with every such segment masked as ***.
"""

import re

from gunicorn.glogging import Logger
from werkzeug.routing import Map

SECRET_VARIABLES = frozenset({"token"})
_VARIABLE = re.compile(r"<(?:[^<>:]+:)?(\w+)>")
_SEGMENT = r"[^/?#\s]+"
_ORIGIN = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*")
# Routes with a secret segment, as patterns whose groups are the secrets (filled by the app).
_secret_routes: list[re.Pattern] = []


def _pattern(rule: str) -> re.Pattern | None:
    """`rule` (e.g. /r/<token>) as a pattern capturing its secret variables; None if it has none."""
    regex, end, secret = "", 0, False
    for variable in _VARIABLE.finditer(rule):
        regex += re.escape(rule[end : variable.start()])
        if variable.group(1) in SECRET_VARIABLES:
            regex, secret = regex + f"({_SEGMENT})", True
        else:
            regex += f"(?:{_SEGMENT})"
        end = variable.end()
    return re.compile(regex + re.escape(rule[end:]) + "/?") if secret else None


def learn_secret_routes(url_map: Map) -> None:
    """Remember the routes of the app that carry a secret (called once the blueprints are in)."""
    patterns = (_pattern(rule.rule) for rule in url_map.iter_rules())
    learned = {pattern.pattern: pattern for pattern in patterns if pattern is not None}
    _secret_routes[:] = sorted(learned.values(), key=lambda pattern: pattern.pattern)


def _mask(path: str) -> str:
    for pattern in _secret_routes:
        match = pattern.fullmatch(path)
        if match:
            for index in range(match.re.groups, 0, -1):  # from the end: the spans stay right
                path = path[: match.start(index)] + "***" + path[match.end(index) :]
            return path
    return path


def scrub(url: str) -> str:
    """`url` (a path or a full URL) without its query string and with its secret segments masked."""
    url = url.split("?", 1)[0].split("#", 1)[0]
    origin = _ORIGIN.match(url)
    prefix = origin.group(0) if origin else ""
    return prefix + _mask(url[len(prefix) :])


class PrivateAccessLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = scrub(environ.get("RAW_URI") or environ.get("PATH_INFO") or "")
        atoms["r"] = f"{environ['REQUEST_METHOD']} {path} {environ['SERVER_PROTOCOL']}"
        atoms["U"] = scrub(environ.get("PATH_INFO") or "")
        atoms["q"] = "-"
        atoms["f"] = scrub(environ.get("HTTP_REFERER", "-"))
        for key in ("{referer}i", "{raw_uri}e", "{query_string}e"):
            if key in atoms:
                atoms[key] = scrub(str(atoms[key]))
        return atoms
