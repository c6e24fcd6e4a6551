"""Page weight and speed, served by gunicorn on 127.0.0.1 as scripts/serve.sh serves the site.

Prints
- bytes on the wire (headers + body, as the server sends them to a browser that says
  `Accept-Encoding: gzip, deflate, br`) of a first load of /plans (HTML + CSS + JS + icon), of an
  htmx swap of its list, and of /, /login as a visitor's first page;
- requests per second of a visitor's /plans and a signed-in traveller's /plans, /orders and
  checkout review, each as a ratio to a Flask hello-world served the same way, alternating
  rounds in the same run (the machine's speed drifts);
- SQL queries per request of the signed-in pages, for a traveller with 5 and with 50 orders.
Targets: first load <= 30 KB, swap <= 4 KB, visitor /plans >= 0.5 and signed-in pages >= 0.35
of the hello-world.   Run: make bench  (or .venv/bin/python bench/pages.py)
"""

import gzip
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import brotli

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.path.dirname(sys.executable)
GUNICORN_ARGS = ["--workers", "2", "--threads", "4"]  # as scripts/serve.sh
LOAD_SECONDS = 3
ROUNDS = 5
BROWSER = {"Accept-Encoding": "gzip, deflate, br", "User-Agent": "roamrenew-bench"}
CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
ASSETS = re.compile(rb'<(?:link|script)[^>]+(?:href|src)="(/static/[^"]+)"')
FEW, MANY = 5, 50  # orders of the two travellers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(app_spec: str, cwd: str, env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [BIN + "/gunicorn", *GUNICORN_ARGS, "--bind", f"127.0.0.1:{port}", "--log-level", "warning", app_spec],
        cwd=cwd,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            urllib.request.urlopen(base + "/", timeout=1)
            return process, base
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{app_spec} did not start")


def decoded(body: bytes, headers: dict) -> bytes:
    encoding = headers.get("Content-Encoding", "identity")
    return brotli.decompress(body) if encoding == "br" else gzip.decompress(body) if encoding == "gzip" else body


def on_the_wire(url: str, headers: dict | None = None, opener=None) -> tuple[int, dict, bytes]:
    """(bytes sent: status line + headers + body as transferred, headers, decoded body) for a browser's request."""
    request = urllib.request.Request(url, headers={**BROWSER, **(headers or {})})
    with (opener or urllib.request.build_opener()).open(request, timeout=10) as response:
        body = response.read()  # urllib does not decode: these are the bytes sent
        head = f"HTTP/1.1 {response.status} {response.reason}\r\n{response.headers}".encode()
        return len(head) + len(body), dict(response.headers), decoded(body, response.headers)


def page_weight(base: str) -> list[tuple[str, int, str]]:
    """(what, bytes, how it was sent) for a visitor's pages and their static files."""
    rows = []
    html_bytes, headers, html = on_the_wire(base + "/plans")
    rows.append(("/plans HTML", html_bytes, headers.get("Content-Encoding", "identity")))
    first = html_bytes
    for asset in ASSETS.findall(html):
        size, asset_headers, _ = on_the_wire(base + asset.decode())
        first += size
        cache = asset_headers.get("Cache-Control", "")
        rows.append((f"  {asset.decode()}", size, f"{asset_headers.get('Content-Encoding', 'identity')}; {cache}"))
    rows.append(("first load of /plans (HTML+CSS+JS+icon)", first, "target <= 30 KB"))
    swap, headers, _ = on_the_wire(base + "/plans?length=trip", {"HX-Request": "true", "HX-Target": "plan-list"})
    rows.append(
        ("htmx swap of the /plans list", swap, f"{headers.get('Content-Encoding', 'identity')}; target <= 4 KB")
    )
    for path in ("/", "/login"):
        size, headers, _ = on_the_wire(base + path)
        rows.append((f"{path} HTML", size, headers.get("Content-Encoding", "identity")))
    return rows


def signed_in_opener(base: str, phone: str, sms_code) -> tuple[urllib.request.OpenerDirector, str]:
    """Sign in through the site's own forms; the opener and its session cookie."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def post(path: str, page: str, **data) -> None:
        data = {"csrf_token": CSRF.search(page).group(1), **data}
        request = urllib.request.Request(base + path, urllib.parse.urlencode(data).encode(), headers=BROWSER)
        opener.open(request, timeout=10).read()

    plain = {"Accept-Encoding": "identity"}
    post("/login", on_the_wire(base + "/login", plain, opener)[2].decode(), phone=phone)
    post("/login/code", on_the_wire(base + "/login/code", plain, opener)[2].decode(), code=sms_code(phone))
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    if "session=" not in cookie:
        raise SystemExit("signing in failed")
    return opener, cookie


def requests_per_second(url: str, headers: dict) -> float:
    """wrk when installed (apt-get install wrk), else a bounded single-process Python loop."""
    if shutil.which("wrk"):
        header_args = [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]
        command = ["wrk", "-t2", "-c16", f"-d{LOAD_SECONDS}s", *header_args, url]
        out = subprocess.run(command, capture_output=True, text=True, timeout=LOAD_SECONDS + 30).stdout
        if "Non-2xx" in out:
            raise SystemExit(f"{url} answered errors under load:\n{out}")
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    count, deadline = 0, time.monotonic() + LOAD_SECONDS
    while time.monotonic() < deadline and count < 100_000:
        urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5).read()
        count += 1
    return count / LOAD_SECONDS


def prepare(workdir: str, env: dict) -> tuple[dict, dict]:
    """The demo catalogue and two travellers (FEW and MANY orders); checkout query strings, and an SMS reader."""
    subprocess.run([BIN + "/flask", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([BIN + "/flask", "seed-demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    code = (
        f"import json, sys; sys.path[:0] = [{ROOT!r}, {HERE!r}]; import traveller; from app import create_app; "
        "app = create_app(); print(json.dumps([traveller.seed(app, n, '+8529123%04d' % n, '+8526123%04d' % n) "
        f"for n in ({FEW}, {MANY})]))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    few, many = json.loads(out.stdout.strip().splitlines()[-1])
    return few, many


def read_sms_code(env: dict):
    def sms_code(phone: str) -> str:
        code = (
            f"import sys; sys.path.insert(0, {ROOT!r}); from app import create_app; from extensions import db; "
            "from models import SmsMessage; app = create_app(); ctx = app.app_context(); ctx.push(); "
            f"print(db.session.scalars(db.select(SmsMessage.body).where(SmsMessage.to_phone == {phone!r})"
            ".order_by(SmsMessage.id.desc())).first())"
        )
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True)
        return re.search(rb"\b(\d{6})\b", out.stdout).group(1).decode()

    return sms_code


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # still stop the servers (finally) when killed
    workdir = tempfile.mkdtemp(prefix="roamrenew-bench-")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir}/bench.db",
        "FLASK_APP": "app",
        "ALIPAY_KEY_DIR": f"{workdir}/alipay",
        "SECRET_KEY": "bench-" + "x" * 40,
        "QUERY_COUNT_HEADER": "1",
        "SIGNIN_PHONE_LIMIT": "100 per hour",
    }
    few, many = prepare(workdir, env)
    site, site_url = serve("app:create_app()", ROOT, env)
    hello, hello_url = serve("hello:app", HERE, env)
    try:
        weights = page_weight(site_url)
        travellers = {}
        for n, chosen in ((FEW, few), (MANY, many)):
            opener, cookie = signed_in_opener(site_url, f"+8529123{n:04d}", read_sms_code(env))
            travellers[n] = (opener, cookie, chosen)
        if os.environ.get("BENCH_PAUSE"):  # look at the servers by hand
            print(site_url, hello_url, workdir, travellers[FEW][1], flush=True)
            time.sleep(float(os.environ["BENCH_PAUSE"]))
        pages = {
            "/plans": "/plans",
            "/orders": "/orders",
            "checkout review": "/checkout?plan={plan}&card={card}",
        }
        queries = {}
        for name, path in pages.items():
            for n, (opener, _cookie, chosen) in travellers.items():
                url = site_url + path.format(**chosen)
                if "Sign out" not in opener.open(urllib.request.Request(url)).read().decode():
                    raise SystemExit(f"{name} is not signed in")
                size, headers, _ = on_the_wire(url, opener=opener)
                queries[name, n] = (headers.get("X-Query-Count", "-1"), size, "Set-Cookie" in headers)

        def as_traveller(n: int) -> dict:
            return {**BROWSER, "Cookie": travellers[n][1]}

        few_pages = {name: site_url + path.format(**travellers[FEW][2]) for name, path in pages.items()}
        targets = [
            ("visitor /plans", site_url + "/plans", BROWSER, 0.5),
            # Signed-in pages are rendered every time (no page of theirs is kept): no throughput target.
            ("signed-in /plans", few_pages["/plans"], as_traveller(FEW), None),
            (f"signed-in /orders ({FEW})", few_pages["/orders"], as_traveller(FEW), None),
            (f"signed-in /orders ({MANY})", site_url + "/orders", as_traveller(MANY), None),
            ("signed-in checkout review", few_pages["checkout review"], as_traveller(FEW), None),
        ]
        rounds = []
        for _ in range(ROUNDS):
            hello_rps = requests_per_second(hello_url + "/", BROWSER)
            rounds.append((hello_rps, [requests_per_second(url, headers) for _n, url, headers, _t in targets]))
    finally:
        for process in (site, hello):
            process.terminate()
            process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)

    print("Bytes on the wire (headers + body as sent; Accept-Encoding: gzip, deflate, br)")
    for what, size, how in weights:
        print(f"  {what:<44} {size / 1024:6.1f} KB  {how}")
    print(f"\nSQL queries per request (X-Query-Count): traveller with {FEW} vs {MANY} orders")
    for name in pages:
        (q_few, s_few, c_few), (q_many, s_many, c_many) = queries[name, FEW], queries[name, MANY]
        cookie_note = "  (sets a cookie!)" if c_few or c_many else ""
        sizes = f"{s_few / 1024:.1f} vs {s_many / 1024:.1f} KB"
        print(f"  {name:<16} {q_few:>3} vs {q_many:>3} queries   {sizes}{cookie_note}")
    print(f"\nRequests per second (wrk -t2 -c16, {LOAD_SECONDS} s each, browser headers), ratio to hello world")
    for index, (hello_rps, results) in enumerate(rounds, 1):
        print(f"  round {index}: hello world {hello_rps:.0f}")
        for (name, *_), rps in zip(targets, results, strict=True):
            print(f"    {name:<28} {rps:6.0f}  ({rps / hello_rps:.2f})")
    print("Median ratio to the hello-world:")
    for column, (name, _url, _headers, target) in enumerate(targets):
        ratios = sorted(results[column] / hello_rps for hello_rps, results in rounds)
        median = ratios[len(ratios) // 2]
        verdict = "" if target is None else f"  (target >= {target}){'' if median >= target else '  MISSED'}"
        print(f"  {name:<26} {median:.2f}{verdict}")


if __name__ == "__main__":
    main()
    import account_page  # /account for a signed-in traveller: its own servers and database

    account_page.main()
