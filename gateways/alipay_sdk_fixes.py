"""Fixes for defects of alipay-sdk-python 3.7, installed by alipay_gateway when it is imported.

1. WebUtils.get_http_connection ignores the port of the gateway URL (it always connects to 80/443)
   and then crashes adding the int port to a str: a local gateway such as the sandbox on
   http://127.0.0.1:8000 is unreachable. The replacement keeps the port.
2. WebUtils.do_post crashes with TypeError on a non-200 status (bytes + str in its message) and lets
   a read timeout out as a bare TimeoutError. The replacement connections raise a clear
   HttpStatusError / TimeoutError from getresponse() instead, which the adapter turns into its own.
3. DefaultAlipayClient stamps requests with datetime.now(), the process's local time; Alipay
   expects UTC+8. The client module's `datetime` is swapped for one whose now() is UTC+8.
Also here, not patches: the wap-pay model with the global merchants' currency fields the SDK lacks,
and gist() for its exception messages.
"""

import datetime as datetime_module
import http.client
import importlib
import re
import types
from typing import Any
from urllib.parse import urlsplit

from alipay.aop.api.domain.AlipayTradeWapPayModel import AlipayTradeWapPayModel
from alipay.aop.api.util import WebUtils

UTC8 = datetime_module.timezone(datetime_module.timedelta(hours=8), "UTC+8")


class HttpStatusError(http.client.HTTPException):
    """The gateway answered with an HTTP status other than 200."""


class _CheckedResponse(http.client.HTTPConnection):
    """getresponse() that fails with a clear exception instead of crashing inside the SDK."""

    def getresponse(self):
        try:
            response = super().getresponse()
        except TimeoutError as error:
            self.close()
            raise TimeoutError(f"no answer from {self.host}:{self.port} within {self.timeout} s") from error
        if response.status != 200:
            self.close()
            raise HttpStatusError(f"{self.host}:{self.port} answered HTTP {response.status} {response.reason}")
        return response


class CheckedHTTPConnection(_CheckedResponse, http.client.HTTPConnection):
    pass


class CheckedHTTPSConnection(_CheckedResponse, http.client.HTTPSConnection):
    pass


def get_http_connection(url: str, query_string: str | None, timeout: float):
    """Drop-in for WebUtils.get_http_connection: (request target, unopened connection)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) gateway URL: {url!r}")
    connection_class = CheckedHTTPSConnection if parts.scheme == "https" else CheckedHTTPConnection
    connection = connection_class(parts.hostname, parts.port, timeout=timeout)  # port None: 80 / 443
    target = (parts.path or "/") + ("?" + query_string if query_string else "")
    return target, connection


class _Utc8Datetime(datetime_module.datetime):
    """datetime whose naive now() is Alipay's UTC+8 wall clock, whatever TZ the process has."""

    @classmethod
    def now(cls, tz=None):
        if tz is not None:
            return super().now(tz)
        return super().now(UTC8).replace(tzinfo=None)


def install() -> None:
    """Patch the SDK in place (idempotent)."""
    # do_post looks get_http_connection up in WebUtils' globals at each call.
    WebUtils.get_http_connection = get_http_connection
    client_module: Any = importlib.import_module("alipay.aop.api.DefaultAlipayClient")
    client_module.datetime = types.SimpleNamespace(**{**vars(datetime_module), "datetime": _Utc8Datetime})


class WapPayModel(AlipayTradeWapPayModel):
    """The SDK's model knows no trans_currency / settle_currency: `extra` adds them to what it signs."""

    def __init__(self, extra: dict[str, str]):
        super().__init__()
        self._extra = extra

    def to_alipay_dict(self):
        return {**super().to_alipay_dict(), **self._extra}


def gist(error: Exception) -> str:
    """An SDK exception's message without its request uuid prefix, and not the whole answer."""
    return re.sub(r"^\[[0-9a-f-]+\]", "", str(error))[:200]
