"""The traveller's choice of payment method on the review page: what is offered, what is chosen first,
and which form values are refused.

The methods offered are the implemented ones the PAYMENT_METHODS setting enables (providers.offered()).
Some cannot open in some browsers: WeChat Pay's H5 payment is not offered by WeChat inside its own
browser (User-Agent "MicroMessenger"), so there it is shown, not chosen, with what to do instead.
"""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from gateways import providers
from rules.payments.method_names import method_name

# method -> (the User-Agent token of a browser its cashier cannot open in, what to do instead)
NOT_IN_BROWSER = {
    "wechat": (
        "MicroMessenger",
        _l(
            "WeChat Pay cannot open inside WeChat. Tap ··· at the top right and choose Open in Browser, "
            "or pay another way."
        ),
    ),
}


class MethodRefused(ValueError):
    """A method that is not offered, or cannot open in this browser; str() is a message for the traveller."""


@dataclass(frozen=True)
class Choice:
    method: str
    name: str
    blocked: str | None  # why it cannot be used in this browser, or None


def blocked_here(method: str | None, user_agent: str | None) -> str | None:
    """What to do instead, when `method`'s cashier cannot open in this browser; else None."""
    token, message = NOT_IN_BROWSER.get(method or "", ("", ""))
    return str(message) if token and token in (user_agent or "") else None


def choices(user_agent: str | None) -> list[Choice]:
    """Every offered method, in the setting's order, each saying whether it works in this browser."""
    return [Choice(p.name, method_name(p.name), blocked_here(p.name, user_agent)) for p in providers.offered()]


def preselected(offered: list[Choice], *wanted: str | None) -> str | None:
    """The first of `wanted` (the one just picked, the last choice) that can be used here, else the first
    offered method that can (None: none can)."""
    usable = [choice.method for choice in offered if choice.blocked is None]
    return next((method for method in (*wanted, *usable) if method in usable), None)


def chosen(typed: str | None, user_agent: str | None, last: str | None = None) -> str:
    """The method a confirm form asks for; a form without one (from before the choice existed) gets the
    page's preselection. Raises MethodRefused for a method not offered, forged, or not for this browser."""
    offered = choices(user_agent)
    if not typed:
        typed = preselected(offered, last)
    match = next((choice for choice in offered if choice.method == typed), None)
    if match is None:
        raise MethodRefused(_l("Choose one of the ways to pay shown on this page."))
    if match.blocked:
        raise MethodRefused(match.blocked)
    return match.method
