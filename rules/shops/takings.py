"""Each location's takings per Hong Kong day, by method (cash, card, QR), closed once, and settled.

LocationDay holds the running figures. A counter payment adds to its day with a conditional UPDATE
(`closed_at IS NULL`), in the payment's own transaction; closing is a conditional UPDATE of the same
row. So a payment in flight and a close are ordered by the row: either the payment is in the closed
figures, or it is refused and nothing of it is recorded. Two closes at once: one wins, the other is
told the day is closed. A closed row is never changed again; a late correction is a DayCorrection row
(and an audit entry, written by the caller).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select, true, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import DayCorrection, Location, LocationDay, utcnow
from rules.staff import actors
from rules.text.formatting import HONG_KONG

COLUMNS = {"cash": "cash_cents", "card": "card_cents", "alipayhk_qr": "qr_cents", "wechat_qr": "qr_cents"}
GROUPS = {"cash": _l("Cash"), "card": _l("Card"), "qr": _l("QR code")}
MAX_CORRECTION_CENTS = 10_000_000  # HK$100,000: a typo beyond that is refused, not recorded
MAX_DAYS = 62


class DayRefused(ValueError):
    """Nothing was recorded; str() is a message for people."""


def hk_today(now: datetime | None = None) -> date:
    return (now or datetime.now(HONG_KONG)).astimezone(HONG_KONG).date()


def parse_day(text: str | None, default: date) -> date:
    text = (text or "").strip()
    if not text:
        return default
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise DayRefused(_l("Give the day as YYYY-MM-DD.")) from None


def _ensure(location_id: int, day: date) -> None:
    """The day's row exists (made by whoever comes first; a twin insert at the same time is fine)."""
    if db.session.scalar(select(LocationDay.id).where(LocationDay.location_id == location_id, LocationDay.day == day)):
        return
    try:
        with db.session.begin_nested():
            db.session.execute(
                insert(LocationDay).values(
                    location_id=location_id, day=day, cash_cents=0, card_cents=0, qr_cents=0, payments=0
                )
            )
    except IntegrityError:
        pass


def add_payment(location_id: int, day: date, method: str, cents: int) -> None:
    """Add a payment to its open day (the caller's transaction); DayRefused if the day is closed."""
    column = COLUMNS[method]
    _ensure(location_id, day)
    result = db.session.execute(
        update(LocationDay)
        .where(LocationDay.location_id == location_id, LocationDay.day == day, LocationDay.closed_at.is_(None))
        .values({column: getattr(LocationDay, column) + cents, "payments": LocationDay.payments + 1})
        .execution_options(synchronize_session=False)
    )
    if not isinstance(result, CursorResult) or result.rowcount != 1:
        raise DayRefused(_l("Today's takings at this location are closed. No payment can be added to a closed day."))


def close(location: Location, day: date, actor, shown_payments: int | None = None) -> LocationDay:
    """Close the day once (its partner or a supervisor), with the figures the page showed (`shown_payments`
    payments: one more came in meanwhile and it is refused); the caller audits and commits. DayRefused."""
    username = actors.require_at(actor, location.id, "supervisor")
    if day > hk_today():
        raise DayRefused(_l("A day can be closed once it has begun."))
    _ensure(location.id, day)
    shown = LocationDay.payments == shown_payments if shown_payments is not None else true()
    result = db.session.execute(
        update(LocationDay)
        .where(LocationDay.location_id == location.id, LocationDay.day == day, LocationDay.closed_at.is_(None))
        .where(shown)
        .values(closed_at=utcnow(), closed_by=username)
        .execution_options(synchronize_session=False)
    )
    row = _row(location.id, day)
    if not isinstance(result, CursorResult) or result.rowcount != 1:
        if row is not None and row.closed_at is None:
            raise DayRefused(_l("A payment came in meanwhile. Check the figures, then close the day."))
        raise DayRefused(_l("This day is already closed. A late correction is a new entry, by a supervisor."))
    assert row is not None
    db.session.refresh(row)
    return row


def correct(location: Location, day: date, method: str, amount_text: str, reason: str, actor) -> DayCorrection:
    """A supervisor's late correction to a closed day: a new row; the caller audits and commits."""
    username = actors.require(actor, "supervisor")
    row = _row(location.id, day)
    if row is None or row.closed_at is None:
        raise DayRefused(_l("Only a closed day takes corrections."))
    if method not in GROUPS:
        raise DayRefused(_l("Choose cash, card or QR code."))
    cents = _signed_cents(amount_text)
    reason = " ".join((reason or "").split())
    if not reason or len(reason) > 200:
        raise DayRefused(_l("Say why, in at most 200 characters."))
    correction = DayCorrection(
        location_day_id=row.id, method=method, amount_cents=cents, reason=reason, staff_username=username
    )
    db.session.add(correction)
    db.session.flush()
    return correction


def _signed_cents(text: str | None) -> int:
    text = (text or "").strip().replace(",", "")
    sign = -1 if text.startswith("-") else 1
    whole, _dot, part = text.lstrip("+-").partition(".")
    if not (
        whole.isascii()
        and whole.isdigit()
        and len(whole) < 9
        and (not part or (part.isascii() and part.isdigit() and len(part) <= 2))
    ):
        raise DayRefused(_l("Give the amount in HK$, e.g. -20.00 or 15.50."))
    cents = sign * (int(whole) * 100 + int(part.ljust(2, "0") or 0))
    if cents == 0 or abs(cents) > MAX_CORRECTION_CENTS:
        raise DayRefused(_l("Give the amount in HK$, e.g. -20.00 or 15.50."))
    return cents


def _row(location_id: int, day: date) -> LocationDay | None:
    return db.session.scalars(
        select(LocationDay).where(LocationDay.location_id == location_id, LocationDay.day == day)
    ).first()


@dataclass
class Day:
    """One location's day as the pages show it: by method, with any corrections, and what it owes."""

    location: Location
    day: date
    row: LocationDay | None
    corrections: list[DayCorrection] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        return self.row is not None and self.row.closed_at is not None

    def by_method(self) -> dict[str, int]:
        row = self.row
        figures = {
            "cash": row.cash_cents if row else 0,
            "card": row.card_cents if row else 0,
            "qr": row.qr_cents if row else 0,
        }
        for correction in self.corrections:
            figures[correction.method] += correction.amount_cents
        return figures

    @property
    def owes(self) -> int:
        return sum(self.by_method().values())


def day(location: Location, on: date) -> Day:
    row = _row(location.id, on)
    return Day(location, on, row, _corrections([row.id]) if row else [])


def settlement(first: date, last: date) -> list[Day]:
    """Every location's days with takings between first and last (Hong Kong days), for supervisors."""
    if last < first or (last - first) > timedelta(days=MAX_DAYS):
        raise DayRefused(_l("Choose at most %(count)s days, the first before the last.", count=MAX_DAYS))
    rows = list(
        db.session.scalars(
            select(LocationDay)
            .where(LocationDay.day >= first, LocationDay.day <= last)
            .order_by(LocationDay.day, LocationDay.location_id)
        )
    )
    corrections = _corrections([row.id for row in rows])
    return [Day(row.location, row.day, row, [c for c in corrections if c.location_day_id == row.id]) for row in rows]


def total(days: list[Day]) -> int:
    return sum(one.owes for one in days)


def _corrections(row_ids: list[int]) -> list[DayCorrection]:
    if not row_ids:
        return []
    return list(
        db.session.scalars(
            select(DayCorrection).where(DayCorrection.location_day_id.in_(row_ids)).order_by(DayCorrection.id)
        )
    )
