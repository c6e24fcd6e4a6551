"""One log record, one line: control characters in a message are escaped before any handler sees it.

A notification field or a URL with CR/LF in it would otherwise start a forged line in the log. The
message is formatted once, escaped, and kept as the record's whole message (tracebacks are added
by the handler's formatter afterwards and are untouched). Installed as the record factory, so it
covers every logger (ours, the libraries', gunicorn's access log) whatever handlers they use.
"""

import logging
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape(text: str) -> str:
    """`text` with control characters as visible escapes (\\n, \\r, \\t, \\xNN, \\uNNNN)."""
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(), m.group().encode("unicode_escape").decode("ascii")), text)


def _escaping_factory(previous):
    def make_record(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let the handler report it as usual
            return record
        escaped = escape(message)
        if escaped != message or record.args:
            record.msg, record.args = escaped, None
        return record

    make_record.escapes_control_characters = True  # type: ignore[attr-defined]
    return make_record


def install() -> None:
    """Install the escaping record factory once per process."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "escapes_control_characters", False):
        logging.setLogRecordFactory(_escaping_factory(current))
