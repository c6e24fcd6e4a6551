"""CSV exports of orders and refunds for a range of Hong Kong days, streamed row by row.

Made for Excel: UTF-8 with a byte order mark (so Chinese plan names open intact), CRLF line ends,
and every cell that starts with = + - @ (or a tab or carriage return) prefixed with ' so a crafted
value is shown as text, never run as a formula. Rows are fetched in batches (yield_per): a month of
orders never sits in memory. The generators yield str; a view wraps them as
    Response(stream_with_context(exports.orders_csv(start, end, locale)), mimetype=exports.MIMETYPE,
             headers={"Content-Disposition": f'attachment; filename="{exports.filename("orders", start, end)}"'})
"""

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from extensions import db
from gateways import providers
from models import Card, Order, Plan, Refund, RefundStatus
from rules.ordering.order_states import RECEIPT, STATE_NAMES
from rules.payments import method_names, refunds
from rules.staff import counter_payments
from rules.text import locales
from rules.text.formatting import HONG_KONG, hk_day_start, mask_phone, typed_day

BATCH = 500
BOM = "\ufeff"
MIMETYPE = "text/csv; charset=utf-8"
MAX_DAYS = 366
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ONLINE_METHODS = tuple(method_names.ONLINE)  # a "Paid in" column each, in this order, whether offered or not
PAYMENT_METHODS = (*ONLINE_METHODS, *(f"counter:{code}" for code in counter_payments.METHODS))
PLAN_NAME = {"en": Plan.name_en, "zh_Hans": Plan.name_zh_hans, "zh_Hant": Plan.name_zh_hant}


class ExportRefused(ValueError):
    """str() is a message for people."""


def parse_range(start_text: str, end_text: str) -> tuple[date, date]:
    """Two Hong Kong days as typed (YYYY-MM-DD), first to last inclusive."""
    try:
        start = date.fromisoformat((start_text or "").strip())
        end = date.fromisoformat((end_text or "").strip())
    except ValueError:
        raise ExportRefused(_l("Enter the days like 2026-11-01.")) from None
    if typed_day(start_text) != start or typed_day(end_text) != end:
        # Checked before the first line is sent: a stream cannot turn into an error page later.
        raise ExportRefused(_l("Choose days from 2000-01-01 to 2099-12-31."))
    if end < start:
        raise ExportRefused(_l("The last day must not come before the first."))
    if (end - start).days >= MAX_DAYS:
        raise ExportRefused(_l("Export at most %(count)s days at a time.", count=MAX_DAYS))
    return start, end


def recent_range(today: date, days: int) -> tuple[date, date]:
    """The last `days` Hong Kong days up to today: what the export form offers before staff choose."""
    return today - timedelta(days=days - 1), today


def hk_text(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.replace(tzinfo=UTC).astimezone(HONG_KONG).strftime("%Y-%m-%d %H:%M:%S")


def amount(cents: int | None) -> str:
    return "" if cents is None else f"{cents // 100}.{cents % 100:02d}"


def safe(cell: object) -> str:
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_START) else text


def line(cells: Iterable[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([safe(cell) for cell in cells])
    return buffer.getvalue()


def filename(kind: str, start: date, end: date) -> str:
    return f"roamrenew-{kind}-{start.isoformat()}-to-{end.isoformat()}.csv"


@dataclass
class _Money:
    """What moved for one order besides its own payment: late or second payments in, refunds done out."""

    late_in: int = 0
    late_trades: list[str] = field(default_factory=list)
    late_by_method: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    refunded: int = 0


def _money_of(order_ids: list[int]) -> dict[int, _Money]:
    """One query per batch: each order's late payments (their refund rows record them) and done refunds."""
    money: dict[int, _Money] = defaultdict(_Money)
    rows = select(Refund).where(Refund.order_id.in_(order_ids)).order_by(Refund.id)
    for refund in db.session.scalars(rows):
        moved = money[refund.order_id]
        if refunds.is_automatic(refund):
            moved.late_in += refund.amount_cents
            moved.late_trades.append(refund.trade_no or "")
            moved.late_by_method[refund.method] += refund.amount_cents  # the method the late money came by
        if refund.status == RefundStatus.DONE:
            moved.refunded += refund.amount_cents
    return money


def orders_csv(start: date, end: date, locale: str = "en") -> Iterator[str]:
    """The orders created on Hong Kong days start..end, oldest first; plan names in `locale`.

    Adds up to the gateway's bill: "Paid in" is every payment that came in for the order (its own, and
    one that came after it was cancelled or expired, or a second one), "Refunded" every refund done;
    the trade numbers are all of them. An order never paid has no total: it was not sold. Then "Paid in"
    once more per online method, each adding up to that provider's bill (a late payment counts under the
    method it came by); a counter's payment is in "Paid in" only, named in "Payment method".
    """
    locale = locale if locale in locales.LOCALES else "en"
    with force_locale(locale):
        header = [
            _("Order number"),
            _("Created (Hong Kong time)"),
            _("State"),
            _("Card"),
            _("Plan"),
            _("Currency"),
            _("Total"),
            _("Discount"),
            _("Paid in"),
            _("Refunded"),
            _("Payment method"),
            _("Trade numbers"),
            *(_("Paid in: %(method)s", method=method_names.method_name(code)) for code in ONLINE_METHODS),
        ]
        states = {state: str(name) for state, name in STATE_NAMES.items()}
        methods = {code: method_names.method_name(code) for code in PAYMENT_METHODS}
    yield BOM + line(header)
    query = (
        select(
            Order.id,
            Order.number,
            Order.created_at,
            Order.state,
            Card.msisdn,
            PLAN_NAME[locale],
            Order.currency,
            Order.total_cents,
            Order.discount_cents,
            Order.payment_method,
            Order.trade_no,
        )
        .join(Card, Order.card_id == Card.id)
        .join(Plan, Order.plan_id == Plan.id)
        .where(Order.created_at >= hk_day_start(start), Order.created_at < hk_day_start(end + timedelta(days=1)))
        .order_by(Order.created_at, Order.id)
    )
    for batch in db.session.execute(query.execution_options(yield_per=BATCH)).partitions():
        money = _money_of([row.id for row in batch])
        for row in batch:
            moved = money.get(row.id, _Money())
            sold = row.state in RECEIPT
            yield line(
                [
                    row.number,
                    hk_text(row.created_at),
                    states.get(row.state, row.state),
                    mask_phone(row.msisdn).lstrip("+"),  # "+852 …" would read as a formula
                    row[5],
                    row.currency,
                    amount(row.total_cents) if sold else "",
                    amount(row.discount_cents) if sold else "",
                    amount((row.total_cents if sold else 0) + moved.late_in),
                    amount(moved.refunded),
                    methods.get(row.payment_method or "", row.payment_method),
                    " ".join(filter(None, [row.trade_no, *moved.late_trades])),
                    *_paid_in_by_method(row, sold, moved),
                ]
            )


def _paid_in_by_method(row, sold: bool, moved: _Money) -> list[str]:
    """One amount per online method (blank where nothing came by it)."""
    own = row.payment_method or (providers.DEFAULT_METHOD if row.trade_no else "")  # paid before methods were kept
    cells = []
    for code in ONLINE_METHODS:
        cents = moved.late_by_method.get(code, 0) + (row.total_cents if sold and own == code else 0)
        cells.append(amount(cents) if cents else "")
    return cells


def refunds_csv(start: date, end: date, locale: str = "en") -> Iterator[str]:
    """The refunds recorded on Hong Kong days start..end, oldest first; states, methods and the automatic
    reasons in words (staff's own reasons as they typed them)."""
    with force_locale(locale if locale in locales.LOCALES else "en"):
        words: dict[str, dict[str, str]] = {
            "status": {str(code): str(word) for code, word in refunds.REFUND_STATUS.items()},
            "reason": {str(code): str(word) for code, word in refunds.REFUND_REASONS.items()},
            "method": {code: refunds.method_words(code) for code in (refunds.COUNTER, *ONLINE_METHODS)},
        }
        header = [
            _("Requested (Hong Kong time)"),
            _("Order number"),
            _("Refund number"),
            _("Currency"),
            _("Amount"),
            _("Status"),
            _("Method"),
            _("Reason"),
            _("Done (Hong Kong time)"),
            _("Trade number"),
            _("Attempts"),
            _("Last error"),
        ]
    yield BOM + line(header)
    query = (
        select(
            Refund.created_at,
            Order.number,
            Refund.out_request_no,
            Order.currency,
            Refund.amount_cents,
            Refund.status,
            Refund.method,
            Refund.reason,
            Refund.done_at,
            Refund.trade_no,
            Order.trade_no.label("order_trade_no"),
            Refund.attempts,
            Refund.last_error,
        )
        .join(Order, Refund.order_id == Order.id)
        .where(Refund.created_at >= hk_day_start(start), Refund.created_at < hk_day_start(end + timedelta(days=1)))
        .order_by(Refund.created_at, Refund.id)
    )
    for batch in db.session.execute(query.execution_options(yield_per=BATCH)).partitions():
        for row in batch:
            yield line(
                [
                    hk_text(row.created_at),
                    row.number,
                    row.out_request_no,
                    row.currency,
                    amount(row.amount_cents),
                    words["status"].get(row.status, row.status),
                    words["method"].get(row.method, row.method),
                    words["reason"].get(row.reason or "", row.reason),
                    hk_text(row.done_at),
                    row.trade_no or (row.order_trade_no if row.method != refunds.COUNTER else ""),
                    row.attempts,
                    row.last_error,
                ]
            )
