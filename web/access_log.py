"""gunicorn's access log without what must not be kept: query strings and receipt-check tokens.

The return from Alipay's cashier carries signed payment details in its query string, and a receipt
check URL carries the receipt's token in its path. The request line, the path and the referer are
logged without any query string, and with the token of /receipts/<number>/<token> masked.
"""

import re

from gunicorn.glogging import Logger

_RECEIPT_TOKEN = re.compile(r"(/receipts/[^/?#\s]*/)[^/?#\s]+")


def scrub(url: str) -> str:
    """`url` (a path or a full URL) without its query string and with a receipt token masked."""
    return _RECEIPT_TOKEN.sub(r"\1***", url.split("?", 1)[0].split("#", 1)[0])


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
