"""Where a payment notification's time goes: CPU, SQL and a cProfile of the app in-process (Flask's test client).

Makes 2 x COUNT unpaid orders and their signed notifications (as bench/notify.py does). The first
COUNT are posted, unprofiled, to the floor (bench/notify_floor.py: the signature check and one INSERT),
then to the app new and again as duplicates: the CPU of each kind a notification (this thread's only:
the sandbox's delivery thread is left out) and its SQL statements. The other COUNT are posted new and
duplicate under cProfile, whose top entries by cumulative time are printed.
Run: .venv/bin/python bench/profile_notify.py [COUNT] [-v]   (DATABASE_URL for PostgreSQL; SQLite otherwise)
"""

import cProfile
import os
import pstats
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

import notify  # noqa: E402  (this folder's notify.py)
import notify_floor  # noqa: E402

HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


def post_each(client, bodies: list[str], path: str, statements: list) -> tuple[float, float]:
    """Post every body to `path`: CPU (ms) and SQL statements a notification."""
    statements.clear()
    start = time.thread_time()
    for body in bodies:
        assert client.post(path, data=body, headers=HEADERS).text == "success"
    return (time.thread_time() - start) / len(bodies) * 1000, len(statements) / len(bodies)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    workdir = tempfile.mkdtemp(prefix="roamrenew-profile-notify-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir}/n.db")
    os.environ.update({"ALIPAY_KEY_DIR": f"{workdir}/alipay", "SECRET_KEY": "bench-" + "x" * 40})
    import flask_migrate
    from sqlalchemy import event

    from extensions import db

    app = notify_floor.create_app()
    with app.app_context():
        flask_migrate.upgrade()
    bodies = notify.make_orders_and_notifications(2 * count)
    timed, profiled = bodies[:count], bodies[count:]
    client = app.test_client()
    statements: list[str] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    for kind, path in (("floor", notify.FLOOR), ("new", notify.NOTIFY), ("duplicate", notify.NOTIFY)):
        cpu, sql = post_each(client, timed, path, statements)
        print(f"{kind}: {cpu:.2f} ms of CPU and {sql:.1f} SQL statements a notification")
        if "-v" in sys.argv:
            print("   " + "\n   ".join(" ".join(s.split())[:150] for s in statements[-int(sql) :]))
    profile = cProfile.Profile()
    profile.enable()
    for _kind in ("new", "duplicate"):
        post_each(client, profiled, notify.NOTIFY, statements)
    profile.disable()
    shutil.rmtree(workdir, ignore_errors=True)
    stats = pstats.Stats(profile).strip_dirs()
    stats.sort_stats("cumulative").print_stats(40)
    if "-v" in sys.argv:
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats("payment_events|marking_paid|alipay|verify|orders.py", 40)


if __name__ == "__main__":
    main()
