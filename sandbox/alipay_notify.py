"""The sandbox gateway's notification deliveries: kept as rows, posted when due, retried like Alipay.

Alipay posts a notification again while the merchant answers anything but the plain text `success`:
eight posts over about 25 hours, 4 m, 10 m, 10 m, 1 h, 2 h, 6 h and 15 h after the one before. The
sandbox keeps that shape, multiplied by SANDBOX_TIME_SCALE (1 is real time; 0.001 runs it in ~90 s).

Each pending post is a SandboxDelivery row (trade, attempt count, due time), so a restarted worker
still delivers it. A daemon thread per app posts the due ones; it is woken by a payment and by the
first request a process serves, and stops when nothing is pending. A row is claimed for a short
lease with a conditional UPDATE and committed before the HTTP post: no lock is held across it, and
two workers never post the same attempt.
"""

import json
import logging
import threading
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from extensions import db
from models import utcnow
from sandbox import alipay_signer
from sandbox.models import SandboxDelivery

# Alipay's pauses before each retry, after the previous post went unanswered.
RETRY_GAPS = tuple(timedelta(minutes=m) for m in (4, 10, 10, 60, 120, 360, 900))
TRIES = len(RETRY_GAPS) + 1
LEASE = timedelta(seconds=alipay_signer.POST_TIMEOUT + 5)
MAX_SLEEP = 30.0  # seconds: look again at least this often (another worker may have added rows)
log = logging.getLogger(__name__)


def retry_gaps(scale: float) -> list[float]:
    """The pauses between posts, in seconds, on the sandbox's clock."""
    return [gap.total_seconds() * scale for gap in RETRY_GAPS]


def enqueue(trade_no: str, notify_url: str, steps: list[tuple[float, dict]]) -> None:
    """Keep a payment's notifications as rows: step k is due after the waits of steps 0..k (seconds)."""
    due = utcnow()
    for step, (wait, params) in enumerate(steps):
        due += timedelta(seconds=wait)
        db.session.add(
            SandboxDelivery(trade_no=trade_no, step=step, notify_url=notify_url, params=json.dumps(params), due_at=due)
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
        return alipay_signer.post_notification(row.notify_url, json.loads(row.params)).strip() == "success"
    except OSError as error:
        log.info("sandbox notification to %s failed: %s", row.notify_url, error)
        return False


def _record(row: SandboxDelivery, answered: bool) -> None:
    """Count the post; done when answered or after the last try, else due again after Alipay's gap."""
    now = utcnow()
    attempts = row.attempts + 1
    values: dict = {"attempts": attempts, "claimed_until": None}
    if answered or attempts >= TRIES:
        values.update(done_at=now, answered=answered)
        if not answered:
            log.warning("sandbox notification for trade %s unanswered after %d posts", row.trade_no, attempts)
    else:
        gap = RETRY_GAPS[attempts - 1] * current_app.config["SANDBOX_TIME_SCALE"]
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
    next_due = db.session.scalar(select(func.min(SandboxDelivery.due_at)).where(SandboxDelivery.done_at.is_(None)))
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
        threading.Thread(target=self._run, name="sandbox-alipay-notify", daemon=True).start()

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
    deliverer = app.extensions.get("sandbox_alipay_notify")
    if deliverer is None:
        deliverer = app.extensions.setdefault("sandbox_alipay_notify", _Deliverer(app))
    deliverer.wake()


def stop(app: Flask) -> None:
    """Stop `app`'s delivery thread for good (a test's app whose database goes to the next test)."""
    deliverer = app.extensions.get("sandbox_alipay_notify")
    if deliverer is not None:
        with deliverer.lock:
            deliverer.stopped = True
            deliverer.woken.set()


def wake_on_first_request(app: Flask) -> None:
    """After a restart: the first request of a process starts delivering what earlier ones left."""
    deliverer = app.extensions.get("sandbox_alipay_notify")
    if deliverer is None or not deliverer.first_request_seen:
        wake(app)
        app.extensions["sandbox_alipay_notify"].first_request_seen = True
