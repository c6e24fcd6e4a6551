"""Where a signed-in page's time goes: cProfile of the app in-process (Flask's test client).

Prints, for /plans, /orders and the checkout review of a traveller with ORDERS orders, the SQL
queries per request, CPU per request, and the profile of
rendering them: top entries by own and by cumulative time.
Run: .venv/bin/python bench/profile_pages.py [ORDERS] [REQUESTS]
"""

import cProfile
import os
import pstats
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import flask_migrate
import traveller
from sqlalchemy import event, select

from app import create_app
from extensions import db
from models import SmsMessage

CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def sign_in(app, client, phone: str) -> None:
    page = client.get("/login").text
    client.post("/login", data={"csrf_token": CSRF.search(page).group(1), "phone": phone})
    with app.app_context():
        body = db.session.scalars(select(SmsMessage.body).order_by(SmsMessage.id.desc())).first()
    page = client.get("/login/code").text
    code = re.search(r"\b(\d{6})\b", body).group(1)
    response = client.post("/login/code", data={"csrf_token": CSRF.search(page).group(1), "code": code})
    assert response.status_code == 303, response.status_code


def _cpu_per_request(client, url: str, count: int) -> float:
    start = time.process_time()
    for _ in range(count):
        client.get(url)
    return (time.process_time() - start) / count


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    workdir = tempfile.mkdtemp(prefix="roamrenew-profile-")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir}/p.db", "ALIPAY_KEY_DIR": workdir})
    with app.app_context():
        flask_migrate.upgrade()
    chosen = traveller.seed(app, count)
    client = app.test_client()
    sign_in(app, client, traveller.PHONE)
    queries = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *args: queries.append(args[2]))
    urls = ["/plans", "/orders", f"/checkout?plan={chosen['plan']}&card={chosen['card']}"]
    app.config["PAGE_CACHE_SECONDS"] = 0  # the plan list fragment too: the page as rendered afresh
    for url in urls:
        assert client.get(url).status_code == 200, url
        queries.clear()
        client.get(url)
        print(f"{url}: {len(queries)} SQL queries a request, rendered")
        if "-v" in sys.argv:
            print("   " + "\n   ".join(queries))
    for url in urls:
        # CPU time, best of 5 batches (other processes share the cores), and Python function calls
        # per request, which do not depend on the machine's load.
        best = min(_cpu_per_request(client, url, max(requests // 5, 1)) for _ in range(5))
        counter = cProfile.Profile()
        counter.enable()
        for _ in range(20):
            client.get(url)
        counter.disable()
        calls = sum(entry[1] for entry in pstats.Stats(counter).stats.values()) // 20
        print(f"{url} (rendered): {best * 1000:.2f} ms of CPU a request (test client), {calls} Python calls")
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(requests):
        for url in urls:
            client.get(url)
    profile.disable()
    shutil.rmtree(workdir, ignore_errors=True)
    stats = pstats.Stats(profile).strip_dirs()
    print(f"\n{requests} x {len(urls)} requests; top entries by own time:")
    stats.sort_stats("tottime").print_stats(20)
    print("top entries by cumulative time:")
    stats.sort_stats("cumulative").print_stats(35)
    if "-v" in sys.argv:
        stats.sort_stats("cumulative").print_stats(
            "babel|helpers.py|limiter|login|csrf|sessions|locales|formatting|catalogue|pricing|url_for|map.py|jinja2_fragments|__init__|security|rendering|page_cache|templating",
            60,
        )


if __name__ == "__main__":
    main()
