"""Sales per Hong Kong day: one GROUP BY on the database (SQLite or PostgreSQL), and refunds beside it.

Hong Kong keeps UTC+8 all year (no daylight saving), so a stored naive-UTC time's Hong Kong day is
the date of that time plus eight hours; hk_date() writes that in each database's own SQL.
A sale is an order paid (paid_at) that took money (the receipt states, refunded ones included: a
refund is counted on its own day), split by the method it was paid by: each online method apart, the
counters' methods together (SERIES). Refunds are the ones staff made (of orders' own payments);
automatic refunds of late or second payments return money that was never counted as a sale.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import String, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from extensions import db
from gateways import providers
from models import Order, Refund
from rules.ordering.order_states import RECEIPT
from rules.payments import method_names, refunds
from rules.text.formatting import HONG_KONG, hk_day_start

AUTOMATIC_REASONS = (*refunds.LATE_REASONS.values(), refunds.SECOND_PAYMENT)
SERIES = (*method_names.ONLINE, refunds.COUNTER)  # the sales split: each online method, then all counters


def series_of(payment_method: str | None) -> str:
    """The series an order's sale is counted in ("counter:cash" -> "counter"; none recorded: Alipay's)."""
    if (payment_method or "").startswith("counter:"):
        return refunds.COUNTER
    return payment_method or providers.DEFAULT_METHOD


def series_name(series: str) -> str:
    return refunds.method_words(series)


class hk_date(FunctionElement):  # lower case: reads like the SQL function it stands for
    """The Hong Kong day of a naive-UTC timestamp column, as text YYYY-MM-DD."""

    type = String()
    inherit_cache = True


@compiles(hk_date)
def _hk_date_postgresql(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f"to_char({column} + interval '8 hours', 'YYYY-MM-DD')"


@compiles(hk_date, "sqlite")
def _hk_date_sqlite(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f"strftime('%Y-%m-%d', {column}, '+8 hours')"


@dataclass(frozen=True)
class DaySales:
    day: date  # a Hong Kong day
    orders: int
    amount_cents: int
    refunded_cents: int
    by_method: dict[str, int] = field(default_factory=dict)  # series (SERIES) -> cents sold that day


def series_present(rows) -> list[str]:
    """The series with a sale in `rows`, in SERIES order (an unknown method last): the chart's and table's."""
    sold = {series for row in rows for series, cents in row.by_method.items() if cents}
    return [series for series in SERIES if series in sold] + sorted(sold - set(SERIES))


def method_totals(rows) -> list[tuple[str, int]]:
    """(series, cents sold) over `rows`, for each series with a sale."""
    return [(series, sum(row.by_method.get(series, 0) for row in rows)) for series in series_present(rows)]


def hk_today(now: datetime | None = None) -> date:
    return (now or datetime.now(HONG_KONG)).astimezone(HONG_KONG).date()


def per_day(days: int = 30, today: date | None = None, currency: str = "HKD") -> list[DaySales]:
    """The last `days` Hong Kong days up to `today`, oldest first, a row for every day (zeros included)."""
    today = today or hk_today()
    first = today - timedelta(days=days - 1)
    since, until = hk_day_start(first), hk_day_start(today + timedelta(days=1))
    day = hk_date(Order.paid_at)
    sold = db.session.execute(
        select(day, Order.payment_method, func.count(Order.id), func.coalesce(func.sum(Order.total_cents), 0))
        .where(
            Order.paid_at >= since,
            Order.paid_at < until,
            Order.state.in_(RECEIPT),
            Order.currency == currency,
        )
        .group_by(day, Order.payment_method)
    ).all()
    refund_day = hk_date(Refund.created_at)
    returned = db.session.execute(
        select(refund_day, func.coalesce(func.sum(Refund.amount_cents), 0))
        .join(Order, Refund.order_id == Order.id)
        .where(
            Refund.created_at >= since,
            Refund.created_at < until,
            Order.currency == currency,
            or_(Refund.reason.is_(None), Refund.reason.not_in(AUTOMATIC_REASONS)),
        )
        .group_by(refund_day)
    ).all()
    counts: dict[str, int] = defaultdict(int)
    split: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for text, method, count, total in sold:
        counts[text] += count
        split[text][series_of(method)] += int(total)
    refunded = {text: int(total) for text, total in returned}
    rows = []
    for offset in range(days):
        key = (first + timedelta(days=offset)).isoformat()
        by_method = dict(split.get(key, {}))
        rows.append(
            DaySales(
                date.fromisoformat(key), counts.get(key, 0), sum(by_method.values()), refunded.get(key, 0), by_method
            )
        )
    return rows
