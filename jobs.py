"""Background work: `flask --app app jobs run-once` or `jobs run` (forever, with a sleep); and the
operators' command for one order, `flask --app app orders retry-fulfilment NUMBER`.

Each task picks one row at a time with FOR UPDATE SKIP LOCKED and claims it (a conditional UPDATE
of a lease or attempt count), then commits before calling a partner (Alipay, the carrier): no lock is
held across the network, and the answer is recorded in a short conditional transaction. Several
workers on one PostgreSQL never process the same row twice. `jobs run` is woken at once by a payment
(PostgreSQL LISTEN/NOTIFY; SQLite a short poll).
"""

import logging
import threading
import time
from datetime import date, datetime, timedelta
from typing import cast

import click
import psycopg
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import exists, or_, select, update
from sqlalchemy.engine import CursorResult

from extensions import db
from gateways import sms
from gateways.payment_methods import GatewayError
from models import Card, CardPack, Order, Refund, UsageReading, utcnow
from rules.ordering import fulfilment, orders
from rules.ordering.order_states import OrderState
from rules.payments import payment_events, reconciliation, refunds
from rules.travellers import reminders, usage

log = logging.getLogger(__name__)
jobs_cli = AppGroup(
    "jobs", help="Expire unpaid orders, query the gateway, add data, refund, send SMS, read each card's usage daily."
)
orders_cli = AppGroup("orders", help="Act on one order (staff).")
QUERY_AFTER = timedelta(seconds=30)  # give the notification a head start
QUERY_EVERY = timedelta(seconds=60)
# A cancelled order's kept cashier URL is payable until pay_by (its time_expire); once that has passed
# (with a margin for the clocks), one query catches a payment whose notification was lost.
LATE_MARGIN = timedelta(minutes=2)
LATE_WINDOW = timedelta(days=1)
BATCH = 20
LEASE = timedelta(minutes=2)  # a claimed order is not picked again before (longer than any gateway call)
POLL = 0.3  # SQLite: seconds between looks for new work


def _due():
    return or_(Order.next_check_at.is_(None), Order.next_check_at <= utcnow())


def _each_claimed(conditions, handle) -> int:
    """Claim due orders one at a time and handle them; how many.

    The claim is a lease, committed before `handle` runs: the row is picked with FOR UPDATE SKIP LOCKED,
    its next_check_at moved LEASE ahead (other workers now skip it) and committed, so no row lock is
    held while `handle` talks to the gateway or the carrier. `handle` records what it learnt in its own
    short transaction, conditional on the order's state; a worker killed mid-way leaves the lease to
    run out, and the order is picked up again.
    """
    done, tried = 0, [0]
    for _ in range(BATCH):
        query = select(Order).where(*conditions(), _due(), Order.id.not_in(tried)).order_by(Order.id).limit(1)
        order = db.session.scalars(query.with_for_update(skip_locked=True)).first()
        if order is None:
            db.session.commit()
            break
        tried.append(order.id)
        lease_until = utcnow() + LEASE
        claimed = db.session.execute(
            update(Order)
            .where(Order.id == order.id, Order.state == order.state, _due())
            .values(next_check_at=lease_until)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if cast(CursorResult, claimed).rowcount != 1:
            continue  # another worker (SQLite takes no row lock) claimed it first
        handle(order)
        # Handled and not asked to wait (the lease still stands): due again at once (e.g. paid → add data).
        db.session.execute(
            update(Order)
            .where(Order.id == order.id, Order.next_check_at == lease_until)
            .values(next_check_at=None)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        done += 1
    return done


def _check_again(order: Order, state: OrderState, when: datetime) -> None:
    """When to look at the order next, if it is still in `state` (else someone moved it: their turn)."""
    db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.state == state)
        .values(next_check_at=when)
        .execution_options(synchronize_session=False)
    )


def _expire(order: Order) -> None:
    try:
        payment_events.close_unpaid(order, "job")
    except GatewayError as error:
        log.warning("could not expire %s yet: %s", order.number, error)
        _check_again(order, OrderState.PENDING_PAYMENT, utcnow() + QUERY_EVERY)
    except orders.IllegalTransition as error:  # paid or cancelled meanwhile: theirs stands
        db.session.rollback()
        log.info("order %s not expired: %s", order.number, error)


def _query(order: Order) -> None:
    try:
        payment_events.apply_query(order, "query_job")
    except GatewayError as error:
        log.warning("query for %s failed: %s", order.number, error)
    _check_again(order, OrderState.PENDING_PAYMENT, utcnow() + QUERY_EVERY)


def _check_cancelled(order: Order) -> None:
    try:
        payment_events.apply_query(order, "job")  # a payment found is refunded (rules.payments.refunds)
    except GatewayError as error:
        log.warning("late-payment check for %s failed: %s", order.number, error)
        _check_again(order, OrderState.CANCELLED, utcnow() + QUERY_EVERY)
        return
    # Checked: not due again before the order has left check_cancelled's window.
    _check_again(order, OrderState.CANCELLED, order.pay_by + LATE_WINDOW)


def expire_unpaid() -> int:
    """Close and expire orders past their pay-by time; one the gateway says is paid becomes paid."""
    return _each_claimed(lambda: (Order.state == OrderState.PENDING_PAYMENT, Order.pay_by < utcnow()), _expire)


def query_pending() -> int:
    """Ask the gateway about unpaid orders whose notification has not come (lost or late)."""
    return _each_claimed(
        lambda: (
            Order.state == OrderState.PENDING_PAYMENT,
            Order.pay_by >= utcnow(),
            Order.created_at < utcnow() - QUERY_AFTER,
        ),
        _query,
    )


def check_cancelled() -> int:
    """Ask the gateway once about each cancelled order whose kept cashier URL can no longer be paid."""
    return _each_claimed(
        lambda: (
            Order.state == OrderState.CANCELLED,
            Order.pay_by < utcnow() - LATE_MARGIN,
            Order.pay_by > utcnow() - LATE_WINDOW,
        ),
        _check_cancelled,
    )


def retry_fulfilment() -> int:
    """Add data for paid orders whose carrier call failed (or whose worker died mid-way).

    Orders in needs_attention are not retried here: they failed MAX_FULFIL_ATTEMPTS times and wait
    for staff (`orders retry-fulfilment`).
    """
    added = 0
    for _ in range(BATCH):
        query = select(Order).where(Order.state == OrderState.PAID, _due()).order_by(Order.id).limit(1)
        order = db.session.scalars(query.with_for_update(skip_locked=True)).first()
        if order is None:
            db.session.commit()
            break
        fulfilment.fulfil(order, "job")  # claims (a lease) and commits before calling the carrier
        added += 1
    return added


def retry_refunds() -> int:
    """Ask the gateway for refunds due (new late payments at once, refused ones again); how many were tried.

    Each is claimed (refunds.claim_next: counted and leased, committed) before the gateway is asked;
    one that fails again waits longer (refunds.attempt sets next_attempt_at), so a round never retries it
    twice.
    """
    tried = 0
    for _ in range(BATCH):
        refund = refunds.claim_next()
        if refund is None:
            db.session.commit()
            break
        refunds.attempt(refund)
        tried += 1
    return tried


def send_reminders(now: datetime | None = None) -> int:
    """Queue the reminder texts due (opt-in per card, once per pack and kind); how many were queued.

    Each card's setting is claimed with FOR UPDATE SKIP LOCKED and looked at in its own transaction;
    `now` is injectable so quiet hours can be tested.
    """
    now = now or utcnow()
    queued = 0
    for _ in range(BATCH):
        setting = reminders.claim_next(now)
        if setting is None:
            break
        queued += reminders.check(setting, now)
        db.session.commit()
    return queued


def record_usage_readings() -> int:
    """Today's (Hong Kong) usage reading for each bound card with a pack in use; how many were recorded.

    Each card is claimed with FOR UPDATE SKIP LOCKED and read in its own transaction; the unique
    (card, day) keeps it to one a day even so. A card the carrier cannot answer for is left for a later
    round (not tried twice in one).
    """
    recorded, tried = 0, [0]
    for _ in range(BATCH):
        now = utcnow()
        today = usage.hk_day(now)
        read_today = exists().where(UsageReading.card_id == Card.id, UsageReading.day == today)
        in_use = exists().where(CardPack.card_id == Card.id, CardPack.starts_at <= now, CardPack.ends_at > now)
        query = (
            select(Card)
            .where(Card.account_id.is_not(None), Card.id.not_in(tried), ~read_today, in_use)
            .order_by(Card.id)
            .limit(1)
        )
        # NO KEY UPDATE: the kept carrier answer (rules.travellers.usage, its own transaction) references the card.
        card = db.session.scalars(query.with_for_update(skip_locked=True, key_share=True, of=Card)).first()
        if card is None:
            break
        tried.append(card.id)
        balance = usage.current_balance(card, now)
        if balance is not None and usage.record_reading(card, balance):
            recorded += 1
        db.session.commit()
    return recorded


def reconcile_yesterday() -> int:
    """After 09:00 in Hong Kong, compare yesterday's gateway bill with our ledger, once (1 if run now).

    The day's row is unique and claimed, so of several workers one runs it; a bill not ready yet is
    asked for again every half hour (reconciliation.RETRY_AFTER).
    """
    return 0 if reconciliation.run_due() is None else 1


def run_once() -> dict[str, int]:
    return {
        "expired": expire_unpaid(),
        "queried": query_pending(),
        "fulfilled": retry_fulfilment(),
        "cancelled_checked": check_cancelled(),
        "refunds": retry_refunds(),
        "reminders": send_reminders(),
        "sms_sent": sms.send_queued(),
        "usage_readings": record_usage_readings(),
        "reconciled": reconcile_yesterday(),
    }


@jobs_cli.command("run-once")
def run_once_command():
    """Run every task once and print what was done."""
    click.echo(" ".join(f"{name}={count}" for name, count in run_once().items()))


@jobs_cli.command("run")
@click.option("--sleep", default=5.0, help="Most seconds between rounds (a payment wakes the worker at once).")
def run_forever(sleep: float):
    """Run the tasks in a loop until stopped."""
    work(sleep)


def work(sleep: float, stop: threading.Event | None = None) -> None:
    """Run rounds until `stop` is set. A round that found work is followed at once by another (a task
    takes at most BATCH rows a round); after an idle one, wait up to `sleep` seconds for new work
    (PostgreSQL: a NOTIFY on fulfilment.WAKE_CHANNEL; SQLite: a cheap query every POLL seconds)."""
    stop = stop or threading.Event()
    wait = _NotifyWaiter() if db.engine.dialect.name == "postgresql" else _PollWaiter()
    try:
        while not stop.is_set():
            try:
                busy = any(run_once().values())
            except Exception:  # a bad round must not stop the worker; it is logged and retried
                log.exception("job round failed")
                db.session.rollback()
                busy = False
            if not busy:
                wait(sleep, stop)
    finally:
        db.session.remove()
        wait.close()


class _NotifyWaiter:
    """Waits on LISTEN roamrenew_jobs, on a dedicated autocommit connection (NOTIFY arrives at commit)."""

    def __init__(self):
        url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.conn = psycopg.connect(url, autocommit=True)
        self.conn.execute(f"LISTEN {fulfilment.WAKE_CHANNEL}")

    def __call__(self, sleep: float, stop: threading.Event) -> None:
        deadline = time.monotonic() + sleep
        while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
            # In slices of at most a second, so a stop is seen; one notify is enough to start a round.
            for _ in self.conn.notifies(timeout=min(left, 1.0), stop_after=1):
                return

    def close(self) -> None:
        self.conn.close()


class _PollWaiter:
    """SQLite has no NOTIFY: a cheap query for due work every POLL seconds."""

    def __call__(self, sleep: float, stop: threading.Event) -> None:
        deadline = time.monotonic() + sleep
        while not stop.is_set() and time.monotonic() < deadline:
            if _work_due():
                return
            time.sleep(min(POLL, max(deadline - time.monotonic(), 0)))

    def close(self) -> None:
        pass


def _work_due() -> bool:
    """A paid order or a refund due now (what a payment leaves for the worker); ends its read."""
    paid = exists().where(Order.state == OrderState.PAID, _due())
    refund = exists().where(
        Refund.status.in_(refunds.OPEN), or_(Refund.next_attempt_at.is_(None), Refund.next_attempt_at <= utcnow())
    )
    due = bool(db.session.scalar(select(or_(paid, refund))))
    db.session.commit()
    return due


@orders_cli.command("retry-fulfilment")
@click.argument("number")
def retry_fulfilment_command(number: str):
    """Try adding the data of order NUMBER now (one in needs_attention, or paid)."""
    order = db.session.scalars(select(Order).where(Order.number == orders.normalise_number(number))).first()
    if order is None:
        raise click.ClickException(f"no order {number}")
    try:
        done = fulfilment.retry(order, "staff")
    except orders.IllegalTransition:
        raise click.ClickException(f"order {order.number} is {order.state}: only paid or needs_attention") from None
    db.session.commit()
    if not done:
        raise click.ClickException(f"order {order.number}: the data could not be added; it is {order.state}")
    click.echo(f"order {order.number}: data added, {order.state}")


@click.command("reconcile")
@with_appcontext
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
def reconcile_command(day):
    """Compare each payment method's bill for Hong Kong day DAY (YYYY-MM-DD) with our ledger, and store it."""
    the_day: date = day.date()
    if the_day >= reconciliation.hk_today():
        raise click.ClickException(f"{the_day} is not over in Hong Kong yet: its bill comes the next morning")
    try:
        result = reconciliation.run(the_day)
    except reconciliation.Busy:
        raise click.ClickException(f"{the_day} is being reconciled by another worker right now") from None
    click.echo(
        f"{the_day}: {result.matched_count} matched, {len(result.differences)} differences "
        f"(gateway {result.gateway_count} lines, ours {result.ours_count})"
    )
    for bill in result.bills:  # each payment method's bill on its own line: one may be late, the others compared
        click.echo(f"  {bill.provider}: {bill.status}" + (f": {bill.last_error}" if bill.last_error else ""))
    for difference in result.differences:
        click.echo(
            f"  {difference.provider} {difference.kind}: order {difference.order_number or '-'}"
            f" trade {difference.trade_no or '-'} refund {difference.refund_no or '-'}"
            f" ours {_cents(difference.our_cents)} gateway {_cents(difference.their_cents)}"
        )
    if result.status in ("not_ready", "failed"):
        raise click.ClickException(f"{the_day}: {result.status}: {result.last_error}")


def _cents(value: int | None) -> str:
    return "-" if value is None else f"{value // 100}.{value % 100:02d}"
