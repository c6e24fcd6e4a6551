"""Does a slow or failing partner slow the site? p50 / p99 of a visitor's /plans and a signed-in
traveller's /account (3 cards; the page, then its usage part, which alone asks the carrier), served by
gunicorn on 127.0.0.1 as pages.py serves it, in one run:

1. partners normal;
2. the sandbox carrier "slow" (CARRIER_SLOW_SECONDS) and the sandbox gateway timing out on 50 % of
   its API calls (ALIPAY_TIMEOUT 2 s here), with the job worker (`flask jobs run`) querying a few
   unpaid orders meanwhile.

Bounded: REQUESTS requests per page and phase from CLIENTS threads, each phase at most PHASE_SECONDS.
Run: .venv/bin/python bench/partners.py
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import account_page  # noqa: E402
import pages  # noqa: E402

REQUESTS = 200
CLIENTS = 4
PHASE_SECONDS = 8  # per page and phase
WARM_UP = 10  # requests per page before each phase, not counted
PENDING_ORDERS = 6  # unpaid orders the job worker asks the gateway about


def degrade() -> None:
    """In the bench database: carrier slow, gateway timing out on half its calls, a few unpaid orders
    old enough for the job worker to query; the kept carrier answers dropped (the next page asks)."""
    sys.path.insert(0, ROOT)
    from datetime import timedelta

    from sqlalchemy import delete, select

    from app import create_app
    from extensions import db
    from models import Account, Card, CarrierReading, Plan
    from rules.ordering import orders
    from rules.travellers import iccid
    from sandbox import alipay_switches, carrier_sim

    app = create_app()
    with app.test_request_context():
        carrier_sim.set_mode("slow")
        alipay_switches.set_timeout_percent(50)
        account = Account(phone="+85291239999")
        db.session.add(account)
        plan = db.session.scalars(select(Plan).order_by(Plan.id)).first()
        for index in range(PENDING_ORDERS):
            card = Card(msisdn=f"+8526999{index:04d}", iccid=iccid.with_check_digit(f"89852009{index:010d}"))
            card.account = account
            db.session.add(card)
            db.session.flush()
            order = orders.create_order(account, card, plan, None, "en")
            order.created_at -= timedelta(minutes=20)
        db.session.execute(delete(CarrierReading))
        db.session.commit()


def timed(url: str, headers: dict) -> tuple[list[float], int]:
    """Seconds per request (REQUESTS of them, CLIENTS at a time, within PHASE_SECONDS); and the errors."""
    times: list[float] = []
    errors = [0]
    left = [REQUESTS]
    lock = threading.Lock()
    stop_at = time.monotonic() + PHASE_SECONDS

    def client():
        while time.monotonic() < stop_at:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            started = time.monotonic()
            try:
                with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as answer:
                    answer.read()
            except OSError:
                errors[0] += 1
                continue
            with lock:
                times.append(time.monotonic() - started)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(times), errors[0]


def percentile(times: list[float], share: float) -> float:
    return times[min(len(times) - 1, int(share * len(times)))] * 1000 if times else float("nan")


def warm_up(base: str, signed_in: dict) -> None:
    """The workers' first requests (imports, templates), before the first phase only: in the second the
    first /account after the kept carrier answers were dropped is one of the figures."""
    for url, headers in ((base + "/plans", pages.BROWSER), (base + "/account", signed_in)):
        for _ in range(WARM_UP):
            urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30).read()


def measure(base: str, signed_in: dict) -> list[tuple[str, list[float], int]]:
    return [
        ("/plans (visitor)", *timed(base + "/plans", pages.BROWSER)),
        ("/account (signed in)", *timed(base + "/account", signed_in)),
        # The page's usage part, which asks the carrier for what is not recent (htmx, after the page).
        ("  its usage part", *timed(base + "/account", {**signed_in, "HX-Request": "true", "HX-Target": "usage"})),
    ]


def main() -> None:
    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="roamrenew-bench-partners-")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir}/bench.db",
        "FLASK_APP": "app",
        "ALIPAY_TIMEOUT": "2",
        "ALIPAY_KEY_DIR": f"{workdir}/alipay",
    }
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    subprocess.run([flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([flask, "seed-demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    made = subprocess.run(
        [sys.executable, account_page.__file__, "prepare"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    cookie = json.loads(made.stdout.decode().strip().splitlines()[-1])["cookie"]
    signed_in = {**pages.BROWSER, "Cookie": f"session={cookie}"}
    site, base = pages.serve("app:create_app()", ROOT, env)
    env["PUBLIC_BASE_URL"] = base  # the job worker calls the sandbox gateway served there
    worker = None
    try:
        warm_up(base, signed_in)
        normal = measure(base, signed_in)
        subprocess.run([sys.executable, __file__, "degrade"], cwd=ROOT, env=env, check=True, capture_output=True)
        worker = subprocess.Popen(
            [flask, "jobs", "run", "--sleep", "1"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        time.sleep(1)  # the worker's first round is under way
        degraded = measure(base, signed_in)
    finally:
        for process in (worker, site):
            if process is not None:
                process.terminate()
                process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{'page':<22} {'partners':<34} {'n':>4} {'err':>4} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    phases = (("normal", normal), ("carrier slow, gateway 50% timeouts", degraded))
    for phase, rows in phases:
        for page, times, errors in rows:
            print(
                f"{page:<22} {phase:<34} {len(times):>4} {errors:>4} "
                f"{percentile(times, 0.5):>8.1f} {percentile(times, 0.99):>8.1f} {percentile(times, 1):>8.1f}"
            )
    print(f"({REQUESTS} requests per row at most, {CLIENTS} clients, {time.monotonic() - started:.0f} s in all)")


if __name__ == "__main__":
    degrade() if sys.argv[1:] == ["degrade"] else main()
