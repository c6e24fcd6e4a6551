"""Page weight and speed of /plans, served by gunicorn on 127.0.0.1 like production.

Prints: gzip bytes of a first load of /plans (HTML + CSS + JS), of an htmx swap of it, and the
requests per second of /plans as a ratio to a Flask hello-world served the same way in the same run.
Targets: first load <= 30 KB, swap <= 4 KB, ratio >= 0.5.   Run: make bench
"""

import gzip
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GUNICORN = os.path.join(os.path.dirname(sys.executable), "gunicorn")
LOAD_SECONDS = 4
ROUNDS = 3  # alternate the two servers: the machine's speed drifts during a run


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(app_spec: str, cwd: str, env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [GUNICORN, "--workers", "2", "--bind", f"127.0.0.1:{port}", "--log-level", "warning", app_spec],
        cwd=cwd,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/", timeout=1)
            return process, base
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{app_spec} did not start")


def fetch(url: str, headers: dict | None = None) -> bytes:
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5).read()


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))  # what a reverse proxy's gzip sends


def page_weight(base: str) -> tuple[int, int]:
    html = fetch(base + "/plans")
    assets = re.findall(rb'(?:href|src)="(/static/[^"]+\.(?:css|js))"', html)
    first = gz(html) + sum(gz(fetch(base + asset.decode())) for asset in assets)
    swap = gz(fetch(base + "/plans?length=trip", {"HX-Request": "true", "HX-Target": "plan-list"}))
    return first, swap


def requests_per_second(url: str) -> float:
    """wrk when installed (apt-get install wrk), else a bounded single-process Python loop."""
    if shutil.which("wrk"):
        out = subprocess.run(["wrk", "-t2", "-c16", f"-d{LOAD_SECONDS}s", url], capture_output=True, text=True).stdout
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    count, deadline = 0, time.monotonic() + LOAD_SECONDS
    while time.monotonic() < deadline and count < 100_000:
        fetch(url)
        count += 1
    return count / LOAD_SECONDS


def main() -> None:
    workdir = tempfile.mkdtemp(prefix="roamrenew-bench-")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{workdir}/bench.db", "FLASK_APP": "app"}
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    subprocess.run([flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([flask, "seed-demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    site, site_url = serve("app:create_app()", ROOT, env)
    hello, hello_url = serve("hello:app", HERE, env)
    try:
        first, swap = page_weight(site_url)
        rounds = [
            (requests_per_second(hello_url + "/"), requests_per_second(site_url + "/plans")) for _ in range(ROUNDS)
        ]
    finally:
        for process in (site, hello):
            process.terminate()
            process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"first load of /plans (HTML+CSS+JS, gzip): {first / 1024:.1f} KB  (target <= 30 KB)")
    print(f"htmx swap of /plans list (gzip):          {swap / 1024:.1f} KB  (target <= 4 KB)")
    for hello_rps, plans_rps in rounds:
        print(f"/plans: {plans_rps:.0f} req/s; hello world: {hello_rps:.0f} req/s; ratio {plans_rps / hello_rps:.2f}")
    ratios = sorted(plans / hello for hello, plans in rounds)
    print(f"median ratio /plans to hello world: {ratios[len(ratios) // 2]:.2f}  (target >= 0.5)")


if __name__ == "__main__":
    main()
    import account_page  # /account for a signed-in traveller: its own servers and database

    account_page.main()
