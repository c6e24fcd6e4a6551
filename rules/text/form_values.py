"""Reading staff forms: each reader returns the value or raises FieldRefused with a message for people.

Collect(...) gathers the refusals of a whole form, so the page can show every mistake at once.
"""

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from flask_babel import lazy_gettext as _l

from rules.text import money_text
from rules.text.formatting import HONG_KONG

TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d")
TRUE = {"1", "on", "true", "yes", "y"}


class FieldRefused(ValueError):
    pass


class Collect:
    """Read fields from `form`; refusals are kept in `errors` (field -> message) instead of raised."""

    def __init__(self, form: Mapping[str, Any]):
        self.form = form
        self.errors: dict[str, str] = {}

    def text(self, name: str) -> str:
        return " ".join(str(self.form.get(name) or "").split())

    def read(self, name: str, reader: Callable[[str], Any]) -> Any:
        try:
            return reader(self.text(name))
        except (FieldRefused, money_text.AmountRefused) as error:
            self.errors.setdefault(name, str(error))
            return None

    def refuse(self, name: str, message) -> None:
        self.errors.setdefault(name, str(message))


def required(max_length: int) -> Callable[[str], str]:
    def read(text: str) -> str:
        if not text:
            raise FieldRefused(_l("This is required."))
        if len(text) > max_length:
            raise FieldRefused(_l("Keep this under %(count)s characters.", count=max_length))
        return text

    return read


def whole_number(minimum: int, maximum: int, optional: bool = False) -> Callable[[str], int | None]:
    def read(text: str) -> int | None:
        if not text and optional:
            return None
        if not text.isascii() or not text.isdigit() or len(text) > 9:
            raise FieldRefused(_l("Enter a whole number."))
        value = int(text)
        if not minimum <= value <= maximum:
            raise FieldRefused(_l("Enter a number from %(low)s to %(high)s.", low=minimum, high=maximum))
        return value

    return read


def cents(positive: bool = True, optional: bool = False) -> Callable[[str], int | None]:
    def read(text: str) -> int | None:
        if not text and optional:
            return None
        value = money_text.to_cents(text)
        if positive and value <= 0:
            raise FieldRefused(_l("The amount must be more than zero."))
        return value

    return read


def hk_time(text: str) -> datetime | None:
    """A Hong Kong local time as typed ("2026-12-01 09:00", a datetime-local field, or a date) -> naive UTC."""
    if not text:
        return None
    for pattern in TIME_FORMATS:
        try:
            local = datetime.strptime(text, pattern)
        except ValueError:
            continue
        return local.replace(tzinfo=HONG_KONG).astimezone(UTC).replace(tzinfo=None)
    raise FieldRefused(_l("Enter a date and time like 2026-12-01 09:00 (Hong Kong time)."))


def checked(text: str) -> bool:
    return text.lower() in TRUE


def hk_text(value: datetime | None) -> str:
    """Naive UTC -> the Hong Kong local time as the forms take it."""
    if value is None:
        return ""
    return value.replace(tzinfo=UTC).astimezone(HONG_KONG).strftime("%Y-%m-%d %H:%M")


def cents_text(value: int | None) -> str:
    return "" if value is None else f"{value // 100}.{value % 100:02d}"
