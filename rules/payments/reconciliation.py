"""Daily reconciliation: each payment method's bill for one Hong Kong day against our ledger of that method.

Hong Kong and Alipay's China time are both UTC+8, so a Hong Kong day is the bill's day. Our ledger
of a method for a day: the orders it paid that day (by trade_no and total), the late or second payments
that came by it and that we refund (recorded as the Refund's trade and method, dated when we learnt of
them), and the refunds done by it that day (by out_request_no and amount). Every line is matched by its
numbers and amount; every difference is stored with its provider: missing_in_ours (the provider has it,
we do not), missing_at_gateway, amount_differs. Each provider's bill is one ReconciliationBill row: one
whose bill is not ready or cannot be had is said so on its own row while the others are still compared,
and the day is then tried again later (all of it: a re-run replaces every provider's result).

A day has one Reconciliation row (the day is unique). run() claims it, so two workers never run
the same day at once: the first inserts the row (or, for a re-run, takes it with a row lock and
marks it running); another worker finds it taken and leaves it. A re-run replaces the day's
differences. A bill that is not ready leaves the day `not_ready`, to be tried again later.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError

from extensions import db
from gateways import providers
from gateways.payment_methods import BillNotReady, GatewayError, PaymentProvider
from models import (
    DifferenceKind,
    Order,
    Reconciliation,
    ReconciliationBill,
    ReconciliationDifference,
    ReconciliationStatus,
    Refund,
    RefundStatus,
    utcnow,
)
from rules.payments.refunds import LATE_REASONS, SECOND_PAYMENT
from rules.text.formatting import HONG_KONG

log = logging.getLogger(__name__)
KINDS = tuple(DifferenceKind)
RETRY_AFTER = timedelta(minutes=30)  # a bill not ready, or a failed download, is asked for again then
STUCK_AFTER = timedelta(minutes=15)  # a run this old that never finished (its worker died) is taken over


@dataclass(frozen=True)
class Line:
    """One payment or refund, as one side has it."""

    kind: str  # payment | refund
    trade_no: str
    refund_no: str | None
    order_number: str | None
    cents: int

    @property
    def key(self) -> tuple[str, str, str | None]:
        return self.kind, self.trade_no, self.refund_no


class Busy(Exception):
    """Another worker is reconciling that day right now."""


def hk_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The Hong Kong day as naive UTC [start, end)."""
    start = datetime.combine(day, time(0), HONG_KONG).astimezone(UTC).replace(tzinfo=None)
    return start, start + timedelta(days=1)


def hk_today(now: datetime | None = None) -> date:
    return (now or utcnow()).replace(tzinfo=UTC).astimezone(HONG_KONG).date()


def our_lines(day: date, method: str = providers.DEFAULT_METHOD) -> list[Line]:
    """Our ledger's payments and done refunds by payment method `method` on that Hong Kong day."""
    start, end = hk_day_bounds(day)
    lines = []
    paid_by = Order.payment_method == method
    if method == providers.DEFAULT_METHOD:  # orders paid before the method was recorded were Alipay's
        paid_by = or_(paid_by, Order.payment_method.is_(None))
    paid = select(Order.number, Order.trade_no, Order.total_cents).where(
        Order.paid_at >= start, Order.paid_at < end, Order.trade_no.is_not(None), paid_by
    )
    for number, trade_no, cents in db.session.execute(paid):
        lines.append(Line("payment", trade_no or "", None, number, cents))
    # A payment that reached an order which could not take it is not the order's trade: its refund
    # row is our record of it (recorded when we learnt of it).
    late = (
        select(Order.number, Refund.trade_no, Refund.amount_cents)
        .join(Order, Order.id == Refund.order_id)
        .where(
            Refund.reason.in_((*LATE_REASONS.values(), SECOND_PAYMENT)),
            Refund.trade_no.is_not(None),
            Refund.method == method,
            Refund.created_at >= start,
            Refund.created_at < end,
        )
    )
    for number, trade_no, cents in db.session.execute(late):
        lines.append(Line("payment", trade_no or "", None, number, cents))
    refunds = (
        select(Order.number, Order.trade_no, Refund.trade_no, Refund.out_request_no, Refund.amount_cents)
        .join(Order, Order.id == Refund.order_id)
        .where(
            Refund.status == RefundStatus.DONE, Refund.method == method, Refund.done_at >= start, Refund.done_at < end
        )
    )
    for number, order_trade, refund_trade, request_no, cents in db.session.execute(refunds):
        lines.append(Line("refund", refund_trade or order_trade or "", request_no, number, cents))
    return lines


def bill_lines(provider: PaymentProvider, day: date) -> list[Line]:
    """One provider's bill for that day (raises BillNotReady, or GatewayError when it cannot be had)."""
    return [
        Line(line.kind, line.trade_no, line.refund_no, line.out_trade_no or None, line.amount_cents)
        for line in provider.day_bill(day)
    ]


def gateway_lines(day: date) -> list[Line]:
    """Every payment method's bill for that day, together (raises as bill_lines does)."""
    return [line for provider in providers.all_providers() for line in bill_lines(provider, day)]


def compare(ours: list[Line], theirs: list[Line]) -> tuple[int, list[ReconciliationDifference]]:
    """(how many lines match, the differences), lines paired by (kind, trade_no, refund no)."""
    mine = {line.key: line for line in ours}
    gateway = {line.key: line for line in theirs}
    matched, differences = 0, []
    for key in sorted(mine.keys() | gateway.keys(), key=lambda k: (k[0], k[1], k[2] or "")):
        our, their = mine.get(key), gateway.get(key)
        if our is not None and their is not None and our.cents == their.cents:
            matched += 1
            continue
        if our is None:
            kind = DifferenceKind.MISSING_IN_OURS
        elif their is None:
            kind = DifferenceKind.MISSING_AT_GATEWAY
        else:
            kind = DifferenceKind.AMOUNT_DIFFERS
        either = our or their
        assert either is not None
        differences.append(
            ReconciliationDifference(
                kind=kind,
                order_number=(our or either).order_number,
                trade_no=either.trade_no,
                refund_no=either.refund_no,
                our_cents=our.cents if our else None,
                their_cents=their.cents if their else None,
            )
        )
    return matched, differences


def claim(day: date, force: bool = False) -> Reconciliation | None:
    """The day's row, marked running by this worker and committed; None if another worker has it or,
    without `force`, if it is done or not due again yet."""
    now = utcnow()
    try:
        with db.session.begin_nested():
            row = Reconciliation(day=day, status=ReconciliationStatus.RUNNING, ran_at=now, attempts=1)
            db.session.add(row)
        db.session.commit()
        return row
    except IntegrityError:
        db.session.rollback()  # the day has a row already: take it over below, if we may
    due = or_(
        Reconciliation.status.in_((ReconciliationStatus.NOT_READY, ReconciliationStatus.FAILED))
        & (Reconciliation.ran_at <= now - RETRY_AFTER),
        (Reconciliation.status == ReconciliationStatus.RUNNING) & (Reconciliation.ran_at <= now - STUCK_AFTER),
    )
    query = select(Reconciliation).where(Reconciliation.day == day)
    if force:
        due = or_(due, Reconciliation.status != ReconciliationStatus.RUNNING)
    taken = db.session.scalars(query.where(due).with_for_update(skip_locked=True)).first()
    if taken is None:
        db.session.rollback()
        return None
    taken.status, taken.ran_at, taken.attempts, taken.last_error = (
        ReconciliationStatus.RUNNING,
        now,
        taken.attempts + 1,
        None,
    )
    db.session.commit()
    return taken


def run(day: date, force: bool = True) -> Reconciliation:
    """Reconcile one Hong Kong day, each payment method's bill on its own, and store the result
    (replacing an earlier one); the row.

    `force` (staff's command): run again even if the day was done. Raises Busy if another worker
    is on it. A provider's failure is stored on its bill's row (not_ready / failed), not raised; the
    day is not_ready or failed while any provider is, so that it is asked again later.
    """
    row = claim(day, force=force)
    if row is None:
        raise Busy(f"the reconciliation of {day} is running elsewhere, or done")
    # Every bill is asked for first, with no write open (rules/__init__); then the ledger is read and written.
    bills = {provider.name: _bill(provider, day) for provider in providers.all_providers()}
    db.session.execute(delete(ReconciliationDifference).where(ReconciliationDifference.reconciliation_id == row.id))
    db.session.execute(delete(ReconciliationBill).where(ReconciliationBill.reconciliation_id == row.id))
    db.session.expire(row, ["differences", "bills"])
    results = [_compare_bill(row, name, bill, day) for name, bill in bills.items()]
    row.matched_count = sum(result.matched_count for result in results)
    row.gateway_count = sum(result.gateway_count for result in results)
    row.ours_count = sum(result.ours_count for result in results)
    errors = [f"{result.provider}: {result.last_error}" for result in results if result.last_error]
    return _finish(row, _day_status(results), "; ".join(errors) or None)


def _bill(provider: PaymentProvider, day: date) -> list[Line] | GatewayError:
    """The provider's bill of `day` as lines, or the error that says why there is none."""
    try:
        return bill_lines(provider, day)
    except GatewayError as error:  # BillNotReady too
        if not isinstance(error, BillNotReady):
            log.warning("reconciliation of %s: the %s bill failed: %s", day, provider.name, error)
        return error


def _compare_bill(row: Reconciliation, method: str, bill: list[Line] | GatewayError, day: date) -> ReconciliationBill:
    """Store one provider's comparison (its bill row and its differences) in the day's row."""
    if isinstance(bill, GatewayError):
        status = ReconciliationStatus.NOT_READY if isinstance(bill, BillNotReady) else ReconciliationStatus.FAILED
        result = ReconciliationBill(
            provider=method, status=status, matched_count=0, gateway_count=0, ours_count=0, last_error=str(bill)[:200]
        )
    else:
        ours = our_lines(day, method)
        matched, differences = compare(ours, bill)
        for difference in differences:
            difference.provider, difference.reconciliation_id = method, row.id
            db.session.add(difference)
        status = ReconciliationStatus.DIFFERENCES if differences else ReconciliationStatus.MATCHED
        result = ReconciliationBill(
            provider=method, status=status, matched_count=matched, gateway_count=len(bill), ours_count=len(ours)
        )
    result.reconciliation_id = row.id
    db.session.add(result)
    return result


def _day_status(results: list[ReconciliationBill]) -> ReconciliationStatus:
    """The day's status from its bills': one failed or not ready makes the day be asked again later."""
    statuses = {result.status for result in results}
    for status in (ReconciliationStatus.FAILED, ReconciliationStatus.NOT_READY, ReconciliationStatus.DIFFERENCES):
        if status in statuses:
            return status
    return ReconciliationStatus.MATCHED


def _finish(row: Reconciliation, status: ReconciliationStatus, error: str | None) -> Reconciliation:
    row.status, row.last_error, row.ran_at = status, error and error[:200], utcnow()
    db.session.commit()
    return row


def run_due(now: datetime | None = None, after_hour: int = 9) -> Reconciliation | None:
    """The jobs worker's task: after 09:00 in Hong Kong, reconcile yesterday once (retrying a bill
    that was not ready); None when there is nothing to do or another worker has it."""
    now = now or utcnow()
    local = now.replace(tzinfo=UTC).astimezone(HONG_KONG)
    if local.hour < after_hour:
        return None
    day = local.date() - timedelta(days=1)
    row = db.session.scalars(select(Reconciliation).where(Reconciliation.day == day)).first()
    if row is not None and row.status in (ReconciliationStatus.MATCHED, ReconciliationStatus.DIFFERENCES):
        return None
    db.session.rollback()  # end the read: claim() starts its own transaction
    try:
        return run(day, force=False)
    except Busy:
        return None


def for_day(day: date) -> Reconciliation | None:
    return db.session.scalars(select(Reconciliation).where(Reconciliation.day == day)).first()


def recent(limit: int = 30) -> list[Reconciliation]:
    """The latest days' results, newest first (for the staff page)."""
    return list(db.session.scalars(select(Reconciliation).order_by(Reconciliation.day.desc()).limit(limit)))


@dataclass
class ProviderResult:
    """One payment method's part of a day, for the staff page: its bill's row (None for a day reconciled
    before bills were kept per method) and its differences."""

    provider: str
    bill: ReconciliationBill | None
    differences: list[ReconciliationDifference]


def per_provider(row: Reconciliation) -> list[ProviderResult]:
    """The day's result grouped by payment method: each provider asked, then any other with differences."""
    results = {bill.provider: ProviderResult(bill.provider, bill, []) for bill in row.bills}
    for difference in row.differences:
        results.setdefault(difference.provider, ProviderResult(difference.provider, None, [])).differences.append(
            difference
        )
    return list(results.values())
