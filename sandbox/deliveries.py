"""The sandbox providers' notification deliveries: kept as rows, posted when due, retried on the
schedule of the provider that owes them.

A provider posts a notification again until the merchant answers as it expects (Alipay: the plain
text `success`), on its own schedule (Alipay's: eight posts over about 25 hours). Each sandbox
provider registers its pauses and its way of posting (register()); the pauses are multiplied by
SANDBOX_TIME_SCALE (1 is real time; 0.001 runs Alipay's 25 hours in ~90 s).

Each pending post is a SandboxDelivery row (trade, attempt count, due time), so a restarted worker
still delivers it. A daemon thread per app posts the due ones; it is woken by a payment and by the
first request a process serves, and stops when nothing is pending. A row is claimed for a short
lease with a conditional UPDATE and committed before the HTTP post: no lock is held across it, and
two workers never post the same attempt.
"""

import logging
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import and_, case, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from extensions import db
from models import utcnow
from sandbox.models import SandboxDelivery

POST_TIMEOUT = 10  # seconds per delivery attempt
# How a sandbox cashier's Pay button has the provider notify the merchant, for tests and demos:
#   normal   one "paid" notification, at once
#   drop     none at all: the app must learn of the payment by querying
#   repeat   the same notification delivered 3 times in a row
#   delay    "paid" only after N seconds: the browser's return comes first
#   reorder  out of order: a stale "waiting" notification at once, "paid" after N seconds, then the
#            stale one again, last
BEHAVIOURS = ("normal", "drop", "repeat", "delay", "reorder")
REPEAT_COUNT = 3
LEASE = timedelta(seconds=POST_TIMEOUT + 5)
MAX_SLEEP = 30.0  # seconds: look again at least this often (another worker may have added rows)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Schedule:
    """How one provider delivers: its pauses before each retry, and one post of a kept payload."""

    gaps: tuple[timedelta, ...]
    # (notify_url, payload) -> True when the merchant answered as the provider expects; OSError if unreachable.
    post: Callable[[str, str], bool]

    @property
    def tries(self) -> int:
        return len(self.gaps) + 1


SCHEDULES: dict[str, Schedule] = {}


def register(provider: str, schedule: Schedule) -> None:
    SCHEDULES[provider] = schedule


def retry_gaps(provider: str, scale: float) -> list[float]:
    """The pauses between `provider`'s posts, in seconds, on the sandbox's clock."""
    return [gap.total_seconds() * scale for gap in SCHEDULES[provider].gaps]


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """POST `body` to `url` once, over real HTTP: the answer's status and (start of its) body text.

    An HTTP error status still returns its body; an unreachable URL raises OSError.
    """
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"notify_url must be http(s): {url!r}")
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=POST_TIMEOUT) as response:
            return response.status, response.read(1024).decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read(1024).decode("utf-8", "replace")


def plan(behaviour: str, paid: str, waiting: str, delay: float) -> list[tuple[float, str]]:
    """The deliveries for one payment, by `behaviour`: (seconds to wait first, payload), in order."""
    if behaviour not in BEHAVIOURS:
        raise ValueError(f"unknown notification behaviour {behaviour!r}")
    if behaviour == "drop":
        return []
    if behaviour == "repeat":
        return [(0, paid)] * REPEAT_COUNT
    if behaviour == "delay":
        return [(delay, paid)]
    if behaviour == "reorder":
        return [(0, waiting), (delay, paid), (0, waiting)]
    return [(0, paid)]


def enqueue(provider: str, trade_no: str, notify_url: str, steps: list[tuple[float, str]]) -> None:
    """Keep a payment's notifications as rows: step k (a payload `provider`'s post understands) is
    due after the waits of steps 0..k (seconds)."""
    due = utcnow()
    for step, (wait, payload) in enumerate(steps):
        due += timedelta(seconds=wait)
        db.session.add(
            SandboxDelivery(
                provider=provider, trade_no=trade_no, step=step, notify_url=notify_url, params=payload, due_at=due
            )
        )
    db.session.commit()


def _due_ids(now: datetime) -> list[int]:
    """Pending, due, unclaimed rows whose payment's earlier notifications have each been posted once."""
    earlier = aliased(SandboxDelivery)
    blocked = exists().where(
        earlier.trade_no == SandboxDelivery.trade_no,
        earlier.step < SandboxDelivery.step,
        earlier.attempts == 0,
        earlier.done_at.is_(None),
    )
    query = (
        select(SandboxDelivery.id)
        .where(
            SandboxDelivery.done_at.is_(None),
            SandboxDelivery.due_at <= now,
            or_(SandboxDelivery.claimed_until.is_(None), SandboxDelivery.claimed_until < now),
            ~blocked,
        )
        .order_by(SandboxDelivery.due_at, SandboxDelivery.id)
        .limit(20)
    )
    return list(db.session.scalars(query))


def _claim(row_id: int, now: datetime) -> SandboxDelivery | None:
    result = db.session.execute(
        update(SandboxDelivery)
        .where(
            SandboxDelivery.id == row_id,
            SandboxDelivery.done_at.is_(None),
            or_(SandboxDelivery.claimed_until.is_(None), SandboxDelivery.claimed_until < now),
        )
        .values(claimed_until=now + LEASE)
    )
    db.session.commit()
    return db.session.get(SandboxDelivery, row_id) if result.rowcount == 1 else None  # type: ignore[attr-defined]


def _post(row: SandboxDelivery) -> bool:
    try:
        return SCHEDULES[row.provider].post(row.notify_url, row.params)
    except OSError as error:
        log.info("sandbox notification to %s failed: %s", row.notify_url, error)
        return False


def _record(row: SandboxDelivery, answered: bool) -> None:
    """Count the post; done when answered or after the last try, else due again after the provider's gap."""
    now = utcnow()
    attempts, schedule = row.attempts + 1, SCHEDULES[row.provider]
    values: dict = {"attempts": attempts, "claimed_until": None}
    if answered or attempts >= schedule.tries:
        values.update(done_at=now, answered=answered)
        if not answered:
            log.warning("sandbox notification for trade %s unanswered after %d posts", row.trade_no, attempts)
    else:
        gap = schedule.gaps[attempts - 1] * current_app.config["SANDBOX_TIME_SCALE"]
        values["due_at"] = now + gap
    db.session.execute(update(SandboxDelivery).where(SandboxDelivery.id == row.id).values(**values))
    db.session.commit()


def deliver_due() -> float | None:
    """Post every due notification once; seconds until the next pending one is due, None if none is."""
    while True:
        now = utcnow()
        rows = [row for row in (_claim(row_id, now) for row_id in _due_ids(now)) if row is not None]
        if not rows:
            break
        for row in rows:
            _record(row, _post(row))
    # A row another process is posting (or died posting) is due again when its lease ends, not before:
    # looking at it sooner would spin this thread until then.
    due_or_lease_end = case(
        (SandboxDelivery.claimed_until > SandboxDelivery.due_at, SandboxDelivery.claimed_until),
        else_=SandboxDelivery.due_at,
    )
    next_due = db.session.scalar(select(func.min(due_or_lease_end)).where(SandboxDelivery.done_at.is_(None)))
    db.session.rollback()
    if next_due is None:
        return None
    return max(0.0, (next_due - utcnow()).total_seconds())


def pending(trade_no: str | None = None) -> int:
    """How many notifications are still owed (for one trade, or in all)."""
    query = select(func.count()).select_from(SandboxDelivery).where(SandboxDelivery.done_at.is_(None))
    if trade_no is not None:
        query = query.where(and_(SandboxDelivery.trade_no == trade_no))
    return db.session.scalar(query) or 0


class _Deliverer:
    """The one delivery thread of an app object; started on demand, gone when nothing is pending."""

    def __init__(self, app: Flask):
        self.app = app
        self.lock = threading.Lock()
        self.woken = threading.Event()
        self.running = False
        self.stopped = False
        self.first_request_seen = False

    def wake(self) -> None:
        with self.lock:
            self.woken.set()
            if self.running or self.stopped:
                return
            self.running = True
        threading.Thread(target=self._run, name="sandbox-deliveries", daemon=True).start()

    def _run(self) -> None:
        try:
            while not self.stopped:
                self.woken.clear()
                with self.app.app_context():
                    wait = deliver_due()
                if wait is None:
                    with self.lock:
                        if not self.woken.is_set():  # nothing pending and nobody added any since
                            self.running = False
                            return
                    continue
                self.woken.wait(min(wait, MAX_SLEEP))
            with self.lock:
                self.running = False
        except Exception:  # e.g. the database went away: the next payment or restart starts it again
            log.exception("sandbox notification delivery stopped")
            with self.lock:
                self.running = False


def wake(app: Flask) -> None:
    """Make sure `app`'s delivery thread is running and looks at the rows now."""
    deliverer = app.extensions.get("sandbox_deliveries")
    if deliverer is None:
        deliverer = app.extensions.setdefault("sandbox_deliveries", _Deliverer(app))
    deliverer.wake()


def stop(app: Flask) -> None:
    """Stop `app`'s delivery thread for good (a test's app whose database goes to the next test)."""
    deliverer = app.extensions.get("sandbox_deliveries")
    if deliverer is not None:
        with deliverer.lock:
            deliverer.stopped = True
            deliverer.woken.set()


def wake_on_first_request(app: Flask) -> None:
    """After a restart: the first request of a process starts delivering what earlier ones left."""
    deliverer = app.extensions.get("sandbox_deliveries")
    if deliverer is None or not deliverer.first_request_seen:
        wake(app)
        app.extensions["sandbox_deliveries"].first_request_seen = True
