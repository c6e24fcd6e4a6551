"""Reminder texts, opt-in per card (off until the traveller turns them on), in the traveller's language.

Two reminders per pack, each at most once (the SMS outbox's dedupe key is per pack and kind):
- data_low: the running pack's data (or fair-use allowance) left falls below 20 %;
- ends_soon: the pack ends within 3 days (within 1 day for a pack of 3 days or less), unless another
  pack already follows it on the card.
Never between 23:00 and 08:00 Hong Kong time: the card is looked at again at 08:00. Each text carries a
short link (/r/<token>) that opens the renew flow for that card, for the account it was sent for only.

The jobs worker claims one setting at a time (FOR UPDATE SKIP LOCKED) and looks again every CHECK_EVERY.
"""

import secrets
from datetime import UTC, datetime, time, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from extensions import db
from gateways import carrier as carriers
from gateways import sms
from models import Account, Card, ReminderSetting, RenewLink, SmsMessage, utcnow
from rules.ordering import start_modes
from rules.text import formatting, locales

DATA_LOW_SHARE = 0.20
ENDS_WITHIN = timedelta(days=3)
SHORT_PACK = timedelta(days=3)  # a pack this long or shorter is reminded 1 day before its end
SHORT_ENDS_WITHIN = timedelta(days=1)
QUIET_FROM, QUIET_UNTIL = time(23, 0), time(8, 0)  # Hong Kong time
CHECK_EVERY = timedelta(minutes=15)
KINDS = ("data_low", "ends_soon")


# --- the traveller's setting ------------------------------------------------------------------


def setting_for(card: Card, account: Account) -> ReminderSetting | None:
    return db.session.scalars(
        select(ReminderSetting).where(ReminderSetting.card_id == card.id, ReminderSetting.account_id == account.id)
    ).first()


def enabled_card_ids(account: Account) -> set[int]:
    """The account's cards with reminders on."""
    rows = select(ReminderSetting.card_id).where(
        ReminderSetting.account_id == account.id, ReminderSetting.enabled.is_(True)
    )
    return set(db.session.scalars(rows))


def set_enabled(card: Card, account: Account, enabled: bool, locale: str) -> ReminderSetting:
    """Turn reminders for `card` on or off for `account` (its holder), texting in `locale`. The caller commits."""
    if card.account_id != account.id:
        raise ValueError("reminders only for the account's own card")
    setting = setting_for(card, account)
    if setting is None:
        try:
            with db.session.begin_nested():
                setting = ReminderSetting(card_id=card.id, account_id=account.id)
                db.session.add(setting)
        except IntegrityError:  # the same toggle at the same moment from another tab
            setting = setting_for(card, account)
            assert setting is not None
    setting.enabled = enabled
    setting.locale = locale if locale in locales.LOCALES else "en"
    setting.updated_at = utcnow()
    setting.next_check_at = None  # look at the card on the worker's next round
    return setting


# --- when and what to text --------------------------------------------------------------------


def quiet_until(now: datetime) -> datetime | None:
    """Inside quiet hours (23:00-08:00 Hong Kong time): the next 08:00, in naive UTC; else None."""
    local = now.replace(tzinfo=UTC).astimezone(formatting.HONG_KONG)
    if QUIET_UNTIL <= local.time() < QUIET_FROM:
        return None
    day = local.date() if local.time() < QUIET_UNTIL else local.date() + timedelta(days=1)
    morning = datetime.combine(day, QUIET_UNTIL, tzinfo=formatting.HONG_KONG)
    return morning.astimezone(UTC).replace(tzinfo=None)


def due(balance: carriers.CardBalance, now: datetime) -> list[tuple[str, carriers.PackBalance]]:
    """The reminders the card's running pack calls for at `now`, as (kind, pack)."""
    pack = start_modes.running_pack(balance, now)
    if pack is None:
        return []
    kinds = []
    left = start_modes.share_left(pack)
    if left is not None and left < DATA_LOW_SHARE:
        kinds.append(("data_low", pack))
    window = SHORT_ENDS_WITHIN if pack.ends_at - pack.starts_at <= SHORT_PACK else ENDS_WITHIN
    followed = any(other.starts_at >= pack.ends_at for other in balance.packs)
    if pack.ends_at - now <= window and not followed:
        kinds.append(("ends_soon", pack))
    return kinds


def dedupe_key(kind: str, card: Card, pack: carriers.PackBalance) -> str:
    pack_id = f"o{pack.order_id}" if pack.order_id is not None else f"c{card.id}-{pack.starts_at:%Y%m%d%H%M%S}"
    return f"reminder:{kind}:{pack_id}"


def _already_queued(key: str) -> bool:
    return db.session.scalar(select(SmsMessage.id).where(SmsMessage.dedupe_key == key)) is not None


def new_link(card: Card, account_id: int) -> RenewLink:
    """A short random link for this card and account (a new token on the rare collision)."""
    for _attempt in range(3):
        try:
            with db.session.begin_nested():
                link = RenewLink(token=secrets.token_urlsafe(8), card_id=card.id, account_id=account_id)
                db.session.add(link)
            return link
        except IntegrityError:
            continue
    raise RuntimeError("could not make a unique renew link")


def link_url(link: RenewLink) -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/r/" + link.token


def _body(kind: str, card: Card, pack: carriers.PackBalance, url: str) -> str:
    phone, end = formatting.mask_phone(card.msisdn), formatting.hk_time(pack.ends_at)
    if kind == "data_low":
        return _(
            "RoamRenew: %(left)s of data left on %(phone)s (pack ends %(end)s HK time). Top up: %(link)s",
            left=formatting.data_amount(pack.left_mb or 0),
            phone=phone,
            end=end,
            link=url,
        )
    return _("RoamRenew: the pack on %(phone)s ends %(end)s HK time. Top up: %(link)s", phone=phone, end=end, link=url)


def check(setting: ReminderSetting, now: datetime) -> int:
    """Queue the reminders due for this setting's card; when to look again is set on it. How many queued."""
    card = setting.card
    held = quiet_until(now)
    if held is not None:
        setting.next_check_at = held
        return 0
    setting.next_check_at = now + CHECK_EVERY
    try:
        balance = carriers.carrier().balance(card)
    except carriers.CarrierUnavailable:
        return 0  # looked at again next time
    queued = 0
    for kind, pack in due(balance, now):
        key = dedupe_key(kind, card, pack)
        if _already_queued(key):
            continue
        link = new_link(card, setting.account_id)
        with force_locale(setting.locale):
            body = _body(kind, card, pack, link_url(link))
        queued += sms.queue(card.msisdn, body, "reminder", dedupe_key=key) is not None
    return queued


def claim_next(now: datetime) -> ReminderSetting | None:
    """One due setting whose card is still on its account, locked so no other worker takes it."""
    query = (
        select(ReminderSetting)
        .join(Card, Card.id == ReminderSetting.card_id)
        .where(
            ReminderSetting.enabled.is_(True),
            Card.account_id == ReminderSetting.account_id,
            or_(ReminderSetting.next_check_at.is_(None), ReminderSetting.next_check_at <= now),
        )
        .order_by(ReminderSetting.id)
        .limit(1)
        .with_for_update(of=ReminderSetting, skip_locked=True)
    )
    return db.session.scalars(query).first()


# --- the link in the text ---------------------------------------------------------------------


def open_link(token: str) -> RenewLink | None:
    """The link's row while its card is still on the account it was sent for; else None (it opens nothing)."""
    link = db.session.scalars(select(RenewLink).where(RenewLink.token == token[:24])).first()
    if link is None or link.card.account_id != link.account_id:
        return None
    return link
