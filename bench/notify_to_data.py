"""From payment notification to data on the card: how long a traveller waits after paying.

The notification only records the payment and answers; the job worker (`flask jobs run`, as
scripts/serve.sh runs it beside the site) adds the data, woken at once (PostgreSQL LISTEN/NOTIFY,
SQLite a short poll). This makes ORDERS unpaid orders and posts each one's signed notification to the
app under gunicorn: the first SPACED one at a time, SPACING apart (a traveller's wait when the worker
is idle), then the rest at once from CLIENTS concurrent clients (a burst: the wait includes the queue
behind one worker). It reads from the database, per order, the time from its "paid" transition to its
"fulfilled" one, and prints p50/p99/max of each phase, the worker's rate in the burst and the
notifications' own answer times. The carrier is the simulated one, in its normal mode.

Run: .venv/bin/python bench/notify_to_data.py sqlite|postgresql [ORDERS]
PostgreSQL: BENCH_DATABASE_URL, else a throwaway cluster from scripts/pg-test-cluster.sh.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time

import notify

CLIENTS = 8
SPACED = 30
SPACING = 0.2  # seconds between the spaced notifications
DEADLINE_SECONDS = 120


def waits(env: dict) -> list[float]:
    """Seconds from each order's paid transition to its fulfilled one, in the order the orders were made
    (orders not fulfilled yet are left out)."""
    code = (
        f"import sys; sys.path.insert(0, {notify.ROOT!r}); from app import create_app; from extensions import db; "
        "from models import OrderTransition as T; app = create_app(); app.app_context().push(); "
        "paid = dict(db.session.execute(db.select(T.order_id, T.created_at).where(T.to_state == 'paid')).all()); "
        "done = db.session.execute(db.select(T.order_id, T.created_at).where(T.to_state == 'fulfilled')).all(); "
        "print(' '.join(str((at - paid[o]).total_seconds()) for o, at in sorted(done) if o in paid))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=notify.ROOT, env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr)
    return [float(value) for value in out.stdout.split()]


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # still stop the servers and cluster (finally)
    database = notify.database_argument("usage: bench/notify_to_data.py sqlite|postgresql [ORDERS]")
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    workdir = tempfile.mkdtemp(prefix="roamrenew-notify-data-")
    os.environ.setdefault("PGDATA", tempfile.mkdtemp(prefix="roamrenew-notify-data-pg-"))
    server = worker = None
    cluster_script = None
    try:
        url, cluster_script = notify.open_database(database, workdir)
        env = notify.migrated_env(url, workdir)
        bodies = notify.make_orders_and_notifications(count)
        worker = subprocess.Popen([notify.BIN + "/flask", "jobs", "run", "--sleep", "5"], cwd=notify.ROOT, env=env)
        server, port = notify.serve(notify.APP, notify.ROOT, env)
        latencies, answers = [], {}
        for body in bodies[:SPACED]:
            answered, answer, _wall = notify.post_all(port, [body], 1)
            latencies += answered
            answers.update({key: answers.get(key, 0) + n for key, n in answer.items()})
            time.sleep(SPACING)
        burst, answer, wall = notify.post_all(port, bodies[SPACED:], CLIENTS)
        latencies += burst
        answers.update({key: answers.get(key, 0) + n for key, n in answer.items()})
        deadline = time.monotonic() + DEADLINE_SECONDS
        while len(found := waits(env)) < count and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        notify.clean_up((server, worker), cluster_script, workdir)
    print(f"{database}: {count} notifications, one job worker; answers {answers}")
    print(f"  notification answered: p50 {ms(latencies, 0.5)}, p99 {ms(latencies, 0.99)}")
    if len(found) < count:
        raise SystemExit(f"  only {len(found)} of {count} orders got their data within {DEADLINE_SECONDS} s")
    spaced, queued = found[:SPACED], found[SPACED:]
    print(f"  paid -> data added, {SPACED} one at a time: {summary(spaced)}")
    print(f"  paid -> data added, {len(queued)} posted at once by {CLIENTS} clients in {wall:.1f} s: {summary(queued)}")


def summary(values: list[float]) -> str:
    return f"p50 {ms(values, 0.5)}, p99 {ms(values, 0.99)}, max {max(values) * 1000:.0f} ms"


def ms(values: list[float], fraction: float) -> str:
    return f"{notify.percentile(values, fraction) * 1000:.0f} ms"


if __name__ == "__main__":
    main()
