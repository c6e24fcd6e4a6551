"""Where a payment notification's time goes: cProfile of the app in-process (Flask's test client).

Makes COUNT unpaid orders and their signed notifications (as bench/notify.py does), posts each one new
and then again as a duplicate, and prints CPU per notification, SQL statements per notification,
and the profile's top entries by cumulative time.
Run: .venv/bin/python bench/profile_notify.py [COUNT]   (DATABASE_URL for PostgreSQL; SQLite otherwise)
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


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    workdir = tempfile.mkdtemp(prefix="roamrenew-profile-notify-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir}/n.db")
    os.environ.update({"ALIPAY_KEY_DIR": f"{workdir}/alipay", "SECRET_KEY": "bench-" + "x" * 40})
    import flask_migrate
    from sqlalchemy import event

    from app import create_app
    from extensions import db

    app = create_app()
    with app.app_context():
        flask_migrate.upgrade()
    bodies = notify.make_orders_and_notifications(count)
    client = app.test_client()
    statements = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    profile = cProfile.Profile()
    for kind in ("new", "duplicate"):
        statements.clear()
        start = time.process_time()
        profile.enable()
        for body in bodies:
            assert client.post(notify.NOTIFY, data=body, headers=headers).text == "success"
        profile.disable()
        cpu = (time.process_time() - start) / count * 1000
        print(f"{kind}: {cpu:.2f} ms of CPU and {len(statements) / count:.1f} SQL statements a notification")
        if "-v" in sys.argv:
            print("   " + "\n   ".join(" ".join(s.split())[:150] for s in statements[: len(statements) // count]))
    shutil.rmtree(workdir, ignore_errors=True)
    stats = pstats.Stats(profile).strip_dirs()
    stats.sort_stats("cumulative").print_stats(40)
    if "-v" in sys.argv:
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats("payment_events|fulfilment|alipay|sms|carrier|orders.py|verify", 40)
        stats.print_callees("queue_confirmation|transition|_add_data")


if __name__ == "__main__":
    main()
