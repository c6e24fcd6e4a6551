"""When a new pack starts: now, or after the packs already on the card; and which to suggest.

The carrier rule (the simulated carrier follows it, see rules.ordering.fulfilment.record_pack): a pack that
starts now REPLACES the pack running on the card. The running pack ends the moment the new one starts,
and any data left on it is gone. Packs queued for later keep their dates. A pack started after the
current one loses nothing; it waits until the card's last pack ends.

The suggestion comes from the card's balance at the carrier: start now when the running pack's data is
used up (under 5 % left), or when it does not cover the new plan's region and little would be lost;
after it otherwise. "Little" is at most 10 % of the pack's data, or at most a day of its time: about
what a traveller uses in a day, so starting now costs them at most a day's worth. More than that is
never thrown away by default: the page says how much ("2.3 GB and 6 days left on your current pack
are lost") and the traveller chooses. When the balance cannot be read we suggest after: of the two, it
is the one that can never throw data away. A guest (top-up without signing in) is never told about a
stranger's pack: they get the choice, suggested after, with nothing read from the balance.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import ngettext

from extensions import db
from gateways import carrier as carriers
from models import Card, Order, Plan
from rules.offers import catalogue
from rules.text import formatting

NOW = "now"
AFTER_CURRENT = "after_current"
MODES = (NOW, AFTER_CURRENT)
LOW_SHARE = 0.05  # under 5 % of the pack left counts as used up
LITTLE_SHARE = 0.10  # starting now is suggested for another region only when this much or less is lost...
LITTLE_TIME = timedelta(days=1)  # ...or this little time is left on the running pack
# A wider region is not covered by a narrower pack; a pack covers its own region and any narrower one.
REGION_WIDTH = {"hk": 1, "hk_cn": 2, "hk_cn_mo": 3}


@dataclass(frozen=True)
class Suggestion:
    """The default start for this card and plan, and why (a sentence for the traveller)."""

    mode: str
    reason: str
    running: carriers.PackBalance | None  # the pack a start now would replace, when the balance was read
    balance_read: bool
    loss: str | None = None  # what a start now throws away, in a sentence (None: nothing, or unknown)


def parse(raw: str | None) -> str | None:
    """The start mode a form or link asked for: one of MODES, or None (missing or not a choice)."""
    return raw if raw in MODES else None


def running_pack(balance: carriers.CardBalance, now: datetime) -> carriers.PackBalance | None:
    """The pack in use at `now` (the one ending last when several overlap)."""
    running = [pack for pack in balance.packs if pack.starts_at <= now < pack.ends_at]
    return max(running, key=lambda pack: pack.ends_at) if running else None


def pack_region(pack: carriers.PackBalance) -> str | None:
    order = db.session.get(Order, pack.order_id) if pack.order_id is not None else None
    return order.plan.region if order is not None else None


def covers(pack_region_code: str | None, plan: Plan) -> bool:
    """Whether a pack of `pack_region_code` already covers where `plan` works (unknown: assume it does)."""
    if pack_region_code not in REGION_WIDTH or plan.region not in REGION_WIDTH:
        return True
    return REGION_WIDTH[pack_region_code] >= REGION_WIDTH[plan.region]


def share_left(pack: carriers.PackBalance) -> float | None:
    """The part of the pack's data (or fair-use allowance) left, 0-1; None when it has no limit."""
    limit = pack.data_mb if pack.data_mb is not None else pack.fair_use_mb
    if not limit or pack.left_mb is None:
        return None
    return pack.left_mb / limit


def little_lost(pack: carriers.PackBalance, now: datetime) -> bool:
    share = share_left(pack)
    return (share is not None and share <= LITTLE_SHARE) or pack.ends_at - now <= LITTLE_TIME


def time_left(pack: carriers.PackBalance, now: datetime) -> str:
    days = (pack.ends_at - now) // timedelta(days=1)
    if days >= 1:
        return ngettext("%(num)d day", "%(num)d days", days)
    return _("less than a day")


def loss(pack: carriers.PackBalance, now: datetime) -> str:
    """What starting now throws away of the running pack, e.g. "2.3 GB and 6 days left on your current
    pack are lost." (an unlimited pack: only the time)."""
    if pack.left_mb is None or pack.data_mb is None:
        return _("%(time)s left on your current pack are lost.", time=time_left(pack, now))
    return _(
        "%(data)s and %(time)s left on your current pack are lost.",
        data=formatting.data_amount(pack.left_mb),
        time=time_left(pack, now),
    )


def for_stranger() -> Suggestion:
    """The start offered to a guest: after the current pack, with a reason that reads nothing from the card."""
    return Suggestion(
        AFTER_CURRENT,
        _(
            "It never throws data away. Choose Start now if the card's data has run out, or its pack does not "
            "cover where you are going."
        ),
        None,
        False,
    )


def suggest(card: Card, plan: Plan, now: datetime) -> Suggestion:
    """The default start for topping up `card` with `plan`, read from the carrier's balance."""
    try:
        balance = carriers.carrier().balance(card)
    except carriers.CarrierUnavailable:
        return Suggestion(
            AFTER_CURRENT,
            _(
                "We could not read what is left on this card just now, so we suggest starting after the "
                "current pack: that way no data on the card is lost. If your data has run out, choose Start now."
            ),
            None,
            False,
        )
    running = running_pack(balance, now)
    if running is None:
        return Suggestion(NOW, _("No pack is running on this card now."), None, True)
    lost = loss(running, now)
    left = share_left(running)
    if left is not None and left < LOW_SHARE:
        reason = _("The data on your current pack is used up or almost used up.")
        return Suggestion(NOW, reason, running, True, lost)
    if not covers(pack_region(running), plan):
        region = catalogue.REGIONS[plan.region]
        if little_lost(running, now):
            return Suggestion(
                NOW, _("Your current pack does not cover %(region)s.", region=region), running, True, lost
            )
        reason = _(
            "Your current pack does not cover %(region)s, but much is left on it: choose Start now only if "
            "you need %(region)s at once.",
            region=region,
        )
        return Suggestion(AFTER_CURRENT, reason, running, True, lost)
    if running.left_mb is None:
        reason = _("Your current pack runs until %(end)s.", end=formatting.hk_time(running.ends_at))
    else:
        reason = _(
            "Your current pack still has %(left)s left, until %(end)s.",
            left=formatting.data_amount(running.left_mb),
            end=formatting.hk_time(running.ends_at),
        )
    return Suggestion(AFTER_CURRENT, reason, running, True, lost)
