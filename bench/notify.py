"""Payment notifications under load: 32 at a time into the app under gunicorn, on SQLite or PostgreSQL.

Makes ORDERS unpaid orders, signs a TRADE_SUCCESS notification for each with the sandbox gateway's
key (exactly as Alipay signs), and posts every one twice (new and duplicate, shuffled) from 32
concurrent clients to the app served as scripts/serve.sh serves it (gunicorn, and one job worker
beside it that adds the data). Prints p50/p99 latency and throughput, and checks every order was paid
once with one SMS. Target, against the floor measured in the same run (bench/notify_floor.py: the
signature check and one INSERT, served beside the app and taking the same load in turn with it, a
quarter at a time, so that other work on the machine falls on both alike): p99 at most 2 x the
floor's, throughput at least 0.5 x the floor's.

SQLite: a new file. PostgreSQL: BENCH_DATABASE_URL, else a throwaway cluster from
scripts/pg-test-cluster.sh (it reads PGPORT and PGDATA), stopped at the end.
Run: .venv/bin/python bench/notify.py sqlite|postgresql [ORDERS]
Figures: README.md, "Performance".
"""

import http.client
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import pages

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.path.dirname(sys.executable)
CONCURRENCY = 32
SEQUENTIAL = 20  # orders whose notifications are posted one at a time
ROUNDS = 4  # the floor and the app take the load in turn, a quarter at a time
DEADLINE_SECONDS = 120
NOTIFY = "/payments/alipay/notify"
FLOOR = "/bench/notify-floor"  # bench/notify_floor.py
APP = "app:create_app()"


def serve(app_spec: str, cwd: str, env: dict) -> tuple[subprocess.Popen, int]:
    """gunicorn serving `app_spec` as scripts/serve.sh does (bench/pages.py), once it answers; and its port."""
    server, base = pages.serve(app_spec, cwd, env)
    return server, int(base.rsplit(":", 1)[1])


def migrated_env(url: str, workdir: str) -> dict:
    """The settings the app and its worker run with here, on `url` brought to the newest migration; this
    process takes them too (it signs the notifications with the same sandbox keys)."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "FLASK_APP": "app",
        "ALIPAY_KEY_DIR": f"{workdir}/alipay",
        "SECRET_KEY": "bench-" + "x" * 40,
    }
    os.environ.update(env)
    subprocess.run([BIN + "/flask", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    return env


def clean_up(processes, cluster_script: str | None, workdir: str) -> None:
    """Stop the servers (and the throwaway cluster, if one was started) and remove the run's files."""
    for process in processes:
        if process is not None:
            process.terminate()
            process.wait(timeout=15)
    if cluster_script:
        subprocess.run([cluster_script, "stop"], capture_output=True)
    shutil.rmtree(workdir, ignore_errors=True)


def make_orders_and_notifications(count: int) -> list[str]:
    """`count` unpaid orders (one per card and plan), and each one's signed notification, form-encoded."""
    sys.path.insert(0, ROOT)
    from app import create_app
    from extensions import db
    from gateways import alipay_gateway
    from models import Account, Card, Plan
    from rules.ordering import orders
    from rules.travellers import iccid
    from sandbox import alipay_signer, demo_data

    app = create_app()
    bodies = []
    with app.test_request_context():
        demo_data.seed()
        plans = list(db.session.scalars(db.select(Plan).where(Plan.active)))
        for index in range(count):
            card_number, plan = divmod(index, len(plans))
            msisdn = f"+8526{card_number:07d}"
            card = db.session.scalars(db.select(Card).where(Card.msisdn == msisdn)).first()
            if card is None:
                account = Account(phone=f"+8529{card_number:07d}", locale="en")
                card = Card(msisdn=msisdn, iccid=iccid.with_check_digit("8985200" + msisdn[-11:]), account=account)
                db.session.add_all([account, card])
                db.session.flush()
            order = orders.create_order(card.account, card, plans[plan], None, "en")
            db.session.commit()
            params = {
                "notify_time": alipay_signer.alipay_now(),
                "notify_type": "trade_status_sync",
                "notify_id": f"bench-{index}",
                "app_id": alipay_gateway.app_id(),
                "seller_id": alipay_gateway.seller_id(),
                "charset": "utf-8",
                "version": "1.0",
                "trade_no": f"2026{index:024d}",
                "out_trade_no": order.number,
                "trade_status": "TRADE_SUCCESS",
                "total_amount": alipay_gateway.cents_to_amount(order.total_cents),
                "receipt_amount": alipay_gateway.cents_to_amount(order.total_cents),
                "subject": "RoamRenew",
                "gmt_payment": alipay_signer.alipay_now(),
            }
            bodies.append(urllib.parse.urlencode(alipay_signer.sign_as_alipay(params)))
    return bodies


def post_all(port: int, bodies: list[str], concurrency: int, path: str = NOTIFY) -> tuple[list[float], dict, float]:
    """Post `bodies` to `path` from `concurrency` clients; latencies in seconds, answers, wall time."""
    queue = list(reversed(bodies))
    lock = threading.Lock()
    latencies: list[float] = []
    answers: dict[str, int] = {}
    deadline = time.monotonic() + DEADLINE_SECONDS

    def client() -> None:
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Connection": "close"}
        while time.monotonic() < deadline:
            with lock:
                if not queue:
                    break
                body = queue.pop()
            # A new connection for each, as the gateway sends them (each notification on its own).
            start = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
            try:
                connection.request("POST", path, body, headers)
                response = connection.getresponse()
                answer = f"{response.status} {response.read().decode()[:20]}"
            except (OSError, http.client.HTTPException) as error:
                answer = type(error).__name__
            finally:
                connection.close()
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                answers[answer] = answers.get(answer, 0) + 1

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, answers, time.perf_counter() - start


def yardstick(app_spec: str, env: dict, bodies: list[str], path: str) -> tuple[float, float, float, dict]:
    """p50 and p99 (ms), throughput (/s) and answers of the same load against another app served the same way."""
    server, port = serve(app_spec, HERE, env)
    try:
        post_all(port, bodies[:100], CONCURRENCY, path)  # warm-up
        return figures(*post_all(port, bodies, CONCURRENCY, path))
    finally:
        server.terminate()
        server.wait(timeout=15)


def figures(latencies: list[float], answers: dict, wall: float) -> tuple[float, float, float, dict]:
    return percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000, len(latencies) / wall, answers


def alternated(floor_port: int, port: int, requests: list[str], env: dict, posted: set) -> tuple[tuple, tuple, str]:
    """The same requests to the floor and to the app, a share at a time in turn (ROUNDS rounds), so that
    other load on the machine falls on both alike. After each share the app's job worker is let finish
    adding that share's data, so the floor's next share never runs beside it (the app's always does).

    Latencies, answers and wall time, summed, for the floor and for the app; and the database's count.
    """
    runs: dict[str, tuple[list, dict, float]] = {"floor": ([], {}, 0.0), "app": ([], {}, 0.0)}
    result = ""
    for share in (requests[start::ROUNDS] for start in range(ROUNDS)):
        for name, the_port, path in (("floor", floor_port, FLOOR), ("app", port, NOTIFY)):
            latencies, answers, wall = post_all(the_port, share, CONCURRENCY, path)
            kept_latencies, kept_answers, kept_wall = runs[name]
            kept_latencies += latencies
            for answer, times in answers.items():
                kept_answers[answer] = kept_answers.get(answer, 0) + times
            runs[name] = (kept_latencies, kept_answers, kept_wall + wall)
        posted.update(share)
        result = wait_for_data(env, len(posted))
    return runs["floor"], runs["app"], result


def described(figures: tuple[float, float, float, dict]) -> str:
    p50, p99, rate, answers = figures
    return f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, {rate:.0f}/s  {answers}"


def check_database(env: dict) -> str:
    code = (
        f"import sys; sys.path.insert(0, {ROOT!r}); from app import create_app; from extensions import db; "
        "from models import Order, SmsMessage, PaymentNotification as N; app = create_app(); ctx = app.app_context(); "
        "ctx.push(); c = lambda q: db.session.scalar(db.select(db.func.count()).select_from(q.subquery())); "
        "print(c(db.select(Order.id).where(Order.state == 'fulfilled')), "
        "c(db.select(SmsMessage.id).where(SmsMessage.purpose == 'order_paid')), c(db.select(N.id)), "
        "c(db.select(N.id).where(N.outcome == 'duplicate')))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    fulfilled, sms, kept, duplicates = out.stdout.split()
    return f"orders fulfilled {fulfilled}, paid SMS {sms}, notifications kept {kept} ({duplicates} duplicates)"


def wait_for_data(env: dict, count: int) -> str:
    """The database's count once the job worker has added every order's data (or after the deadline)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        result = check_database(env)
        if result.startswith(f"orders fulfilled {count},") or time.monotonic() > deadline:
            return result
        time.sleep(1)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def open_database(database: str, workdir: str) -> tuple[str, str | None]:
    """The URL to run on and the cluster script to stop afterwards (None: nothing to stop).

    SQLite: a new file in `workdir`. PostgreSQL: BENCH_DATABASE_URL, else a throwaway cluster
    (scripts/pg-test-cluster.sh, on PGDATA, which the caller sets, and PGPORT).
    """
    if database == "sqlite":
        return f"sqlite:///{workdir}/bench.db", None
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"], None
    cluster_script = os.path.join(ROOT, "scripts", "pg-test-cluster.sh")
    started = subprocess.run([cluster_script, "start"], capture_output=True, text=True, check=True)
    return started.stdout.strip().splitlines()[-1], cluster_script


def database_argument(usage: str) -> str:
    database = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    if database not in ("sqlite", "postgresql"):
        raise SystemExit(usage)
    return database


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # still stop the server and cluster (finally)
    database = database_argument("usage: bench/notify.py sqlite|postgresql [ORDERS]")
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    workdir = tempfile.mkdtemp(prefix="roamrenew-notify-")
    # The cluster's own directory (start and stop must name the same one) unless PGDATA names one.
    os.environ.setdefault("PGDATA", tempfile.mkdtemp(prefix="roamrenew-notify-pg-"))
    server = floor_server = worker = None
    cluster_script = None
    try:
        url, cluster_script = open_database(database, workdir)
        env = migrated_env(url, workdir)
        bodies = make_orders_and_notifications(count)
        # Every notification new once and duplicate once. A few go one at a time first: the latency
        # without queueing, for comparison.
        alone = bodies[:SEQUENTIAL] * 2
        requests = bodies[SEQUENTIAL:] * 2
        random.Random(7).shuffle(requests)
        worker = subprocess.Popen([BIN + "/flask", "jobs", "run", "--sleep", "5"], cwd=ROOT, env=env)
        server, port = serve(APP, ROOT, env)
        floor_server, floor_port = serve("notify_floor:create_app()", HERE, env)
        hello = yardstick("hello:app", env, ["x=1"] * len(requests), NOTIFY)
        one_at_a_time, _answers, _wall = post_all(port, alone, 1)
        post_all(port, alone * 2, CONCURRENCY)  # warm-up, not measured: every thread opens its connections
        post_all(floor_port, alone * 2, CONCURRENCY, FLOOR)
        floor_run, app_run, result = alternated(floor_port, port, requests, env, set(alone))
    finally:
        clean_up((server, floor_server, worker), cluster_script, workdir)
    latencies, answers, wall = app_run
    floor = figures(*floor_run)
    print(f"{database}: ", end="")
    p50, p99 = percentile(latencies, 0.50) * 1000, percentile(latencies, 0.99) * 1000
    alone = sorted(one_at_a_time)
    print(f"one at a time ({len(alone)}: new and duplicate): p50 {percentile(alone, 0.5) * 1000:.1f} ms")
    orders = count - SEQUENTIAL
    print(f"{len(latencies)} notifications ({orders} orders, each new and duplicate), {CONCURRENCY} concurrent")
    print(f"answers: {answers}")
    p90 = percentile(latencies, 0.90) * 1000
    rate = len(latencies) / wall
    print(f"latency p50 {p50:.1f} ms, p90 {p90:.1f} ms, p99 {p99:.1f} ms, max {max(latencies) * 1000:.1f} ms")
    print(f"throughput {rate:.0f} notifications/s over {wall:.1f} s")
    print(f"the same {CONCURRENCY} clients, the same way, to a Flask hello-world (its 404): {described(hello)}")
    print(
        f"  and to this app's floor (signature check + one INSERT, bench/notify_floor.py), in turn: {described(floor)}"
    )
    floor_p99, floor_rate = floor[1], floor[2]
    print(
        f"target p99 <= 2 x floor ({2 * floor_p99:.1f} ms): {'met' if p99 <= 2 * floor_p99 else 'MISSED'};"
        f" throughput >= 0.5 x floor ({0.5 * floor_rate:.0f}/s): {'met' if rate >= 0.5 * floor_rate else 'MISSED'}"
    )
    print(result)


if __name__ == "__main__":
    main()
