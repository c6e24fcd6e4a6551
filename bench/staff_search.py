"""Staff order search on PostgreSQL at 10,000 and 1,000,000 orders: median and p99 per kind of lookup.

For each size it makes a database of its own in the cluster given, migrates it, seeds accounts, cards,
orders and their transitions with COPY, runs each kind of lookup RUNS times through rules.staff.order_search
in an app context (timing the rule call in this process: no HTTP), prints median and p99, and the
EXPLAIN of each kind's orders query at the largest size (index scans, not sequential ones).
Targets: median < 50 ms and p99 < 150 ms for every kind, flat from the smallest size to the largest.

  PGDATA=/tmp/pg-staffsearch scripts/pg-test-cluster.sh start   # prints the URL (a free port)
  .venv/bin/python bench/staff_search.py --url postgresql+psycopg://app@127.0.0.1:54345/roamrenew_test \\
      [--orders 10000 1000000] [--runs 200] [--keep]
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import flask_migrate  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app import create_app  # noqa: E402
from extensions import db  # noqa: E402
from rules.ordering import orders  # noqa: E402
from rules.staff import order_search  # noqa: E402
from rules.travellers import iccid, phones  # noqa: E402
from sandbox import demo_data  # noqa: E402

ORDERS_PER_CARD = 5
STATES = ["fulfilled"] * 14 + ["expired", "cancelled", "paid", "refunded", "pending_payment", "to_add_by_hand"]
START = datetime(2025, 11, 28)
SPAN_SECONDS = 365 * 24 * 3600
SEED = 20261128


def order_number(i: int, created: datetime) -> str:
    chars, n = [], i
    for _ in range(orders.NUMBER_RANDOM_LENGTH):
        chars.append(orders.NUMBER_ALPHABET[n % 32])
        n //= 32
    return f"RR{created:%y%m%d}-" + "".join(reversed(chars))


def account_phone(i: int) -> str:
    return f"+8529{1000000 + i:07d}"  # 9100 0000 upwards: mobile ranges in use


def card_msisdn(i: int) -> str:
    return f"+8526{1000000 + i:07d}"  # 6100 0000 upwards


def card_iccid(i: int) -> str:
    return iccid.with_check_digit(f"8985200{i:011d}")


def trade_no(i: int, created: datetime) -> str:
    return f"{created:%Y%m%d}2200{i:016d}"


def valid_phone(number: str) -> bool:
    try:
        phones.normalise(number)
    except phones.InvalidPhone:
        return False
    return True


def database_for(url: str, size: int, reuse: bool) -> tuple[str, bool]:
    """(URL of this size's database in the cluster of `url`, whether it must be seeded)."""
    name = f"bench_search_{size}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
        if not (reuse and exists):
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False), not (reuse and exists)


def seed(url: str, size: int) -> dict:
    """COPY `size` orders (with accounts, cards, transitions); what the lookups will ask for."""
    rng = random.Random(SEED)
    cards = max(size // ORDERS_PER_CARD, 1)
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as connection, connection.cursor() as cursor:
        plan_rows = cursor.execute("SELECT id, price_cents FROM plan ORDER BY id").fetchall()
        with cursor.copy("COPY account (id, phone, session_token, created_at) FROM STDIN") as copy:
            for i in range(cards):
                copy.write_row((i + 1, account_phone(i), f"t{i}", START))
        with cursor.copy(
            "COPY card (id, msisdn, iccid, iccid_reversed, account_id, bound_at, created_at) FROM STDIN"
        ) as copy:
            for i in range(cards):
                number = card_iccid(i)
                copy.write_row((i + 1, card_msisdn(i), number, number[::-1], i + 1, START, START))
        order_columns = (
            "id, number, account_id, card_id, plan_id, state, currency, price_cents, discount_cents, total_cents,"
            " refunded_cents, validity_start, validity_end, locale, payment_method, trade_no, created_at, pay_by,"
            " paid_at, fulfil_attempts"
        )
        transitions = []
        with cursor.copy(f"COPY orders ({order_columns}) FROM STDIN") as copy:
            for i in range(size):
                card = rng.randrange(cards) + 1
                plan_id, price = plan_rows[rng.randrange(len(plan_rows))]
                created = START + timedelta(seconds=rng.randrange(SPAN_SECONDS))
                state = STATES[rng.randrange(len(STATES))]
                paid = state in ("fulfilled", "paid", "refunded", "to_add_by_hand")
                copy.write_row(
                    (
                        i + 1,
                        order_number(i, created),
                        card,
                        card,
                        plan_id,
                        state,
                        "HKD",
                        price,
                        0,
                        price,
                        0,
                        created,
                        created + timedelta(days=3),
                        "en",
                        "alipay" if paid else None,
                        trade_no(i, created) if paid else None,
                        created,
                        created + timedelta(minutes=15),
                        created + timedelta(minutes=2) if paid else None,
                        1 if state == "fulfilled" else 0,
                    )
                )
                transitions.append((i + 1, created, state))
        with cursor.copy(
            "COPY order_transition (order_id, from_state, to_state, cause, created_at) FROM STDIN"
        ) as copy:
            for order_id, created, state in transitions:
                copy.write_row((order_id, None, "pending_payment", "checkout", created))
                if state != "pending_payment":
                    copy.write_row((order_id, "pending_payment", state, "job", created + timedelta(minutes=2)))
        for table in ("account", "card", "orders", "order_transition"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        connection.commit()
        cursor.execute("ANALYZE")
    return {"cards": cards}


def lookups(size: int, cards: int, runs: int) -> dict[str, list]:
    """For each kind, `runs` calls of order_search.search (text, filters), each for another target."""
    rng = random.Random(SEED + 1)
    targets: dict[str, list] = {kind: [] for kind in ("order_number", "phone_account", "phone_card", "iccid")}
    targets.update({"iccid_tail": [], "trade_no": [], "empty": [], "state_and_days": [], "unknown": []})
    state_rng = random.Random(SEED)  # replays the seeding's draws to know some orders' numbers and trades
    known = []
    for i in range(min(size, 50_000)):
        state_rng.randrange(cards)
        state_rng.randrange(len(demo_data.PLANS))
        created = START + timedelta(seconds=state_rng.randrange(SPAN_SECONDS))
        state = STATES[state_rng.randrange(len(STATES))]
        known.append((i, created, state))
    paid = [(i, created) for i, created, state in known if state in ("fulfilled", "paid", "refunded", "to_add_by_hand")]
    for _ in range(runs):
        i, created, _state = known[rng.randrange(len(known))]
        number = order_number(i, created)
        targets["order_number"].append((f" {number.lower().replace('-', ' ')} ", {}))
        card = rng.randrange(cards)
        while not valid_phone(account_phone(card)):  # some generated ranges are not given out to mobiles
            card = rng.randrange(cards)
        phone = account_phone(card)
        targets["phone_account"].append((f"+852 {phone[4:8]} {phone[8:]}", {}))
        targets["phone_card"].append((card_msisdn(card)[4:], {}))
        targets["iccid"].append((card_iccid(card), {}))
        targets["iccid_tail"].append((card_iccid(card)[-rng.choice((4, 5, 6)) :], {}))
        j, paid_created = paid[rng.randrange(len(paid))]
        targets["trade_no"].append((trade_no(j, paid_created), {}))
        targets["empty"].append(("", {"page": rng.randrange(1, 6)}))
        day = date(2026, 1, 1) + timedelta(days=rng.randrange(300))
        targets["state_and_days"].append(
            ("", {"state": rng.choice(STATES), "date_from": day, "date_to": day + timedelta(days=6)})
        )
        targets["unknown"].append(("'; DROP TABLE orders; --" + "x" * rng.randrange(10_000), {}))
    return targets


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def measure(app, targets: dict[str, list]) -> dict[str, tuple[float, float, int, float, float]]:
    """Per kind: wall median and p99 (ms), how many found orders, this process's CPU median and p99."""
    results = {}
    with app.app_context():
        for kind, calls in targets.items():
            timings, cpu, found = [], [], 0
            order_search.search(*calls[0][:1], **calls[0][1])  # warm the connection and the plan cache
            db.session.remove()
            for text_typed, filters in calls:
                began, began_cpu = time.perf_counter(), time.process_time()
                page = order_search.search(text_typed, **filters)
                for order in page.orders:  # what the list page shows
                    _ = order.card.msisdn, order.plan.name_en, order.account and order.account.phone
                timings.append((time.perf_counter() - began) * 1000)
                cpu.append((time.process_time() - began_cpu) * 1000)
                found += bool(page.orders)
                db.session.remove()
            results[kind] = (statistics.median(timings), p99(timings), found, statistics.median(cpu), p99(cpu))
    return results


def explain(app, targets: dict[str, list]) -> None:
    """The plan of each kind's orders query (the one that grows with the table)."""
    with app.app_context():
        for kind, calls in targets.items():
            statements = []

            def record(_conn, _cursor, statement, parameters, _context, _many, statements=statements):
                statements.append((statement, parameters))

            db.event.listen(db.engine, "before_cursor_execute", record)
            try:
                order_search.search(calls[0][0], **calls[0][1])
            finally:
                db.event.remove(db.engine, "before_cursor_execute", record)
            main = [s for s in statements if "FROM orders" in s[0] and "orders.id IN" not in s[0][:200]]
            if not main:
                print(f"-- {kind}: no orders query (nothing can match)")
                continue
            statement, parameters = main[-1]
            connection = db.session.connection().connection.driver_connection
            rows = connection.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + statement, parameters).fetchall()
            print(f"-- {kind}")
            for (line,) in rows:
                print("   " + line)
            db.session.remove()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("TEST_DATABASE_URL"), help="a throwaway PostgreSQL")
    parser.add_argument("--orders", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the bench databases")
    parser.add_argument("--reuse", action="store_true", help="measure databases kept by --keep without seeding")
    args = parser.parse_args()
    if not args.url or not args.url.startswith("postgresql"):
        parser.error("--url postgresql+psycopg://… (scripts/pg-test-cluster.sh start) is required")
    table = {}
    for size in args.orders:
        url, fresh = database_for(args.url, size, args.reuse)
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
        cards = max(size // ORDERS_PER_CARD, 1)
        if fresh:
            with app.app_context():
                flask_migrate.upgrade()
                demo_data.seed()
                db.session.commit()
            began = time.perf_counter()
            seed(url, size)
            print(f"seeded {size:,} orders ({cards:,} cards and accounts) in {time.perf_counter() - began:.0f} s")
        targets = lookups(size, cards, args.runs)
        table[size] = measure(app, targets)
        if size == max(args.orders):
            explain(app, targets)
        with app.app_context():
            db.engine.dispose()
        if not (args.keep or args.reuse):
            admin = create_engine(args.url, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS bench_search_{size} WITH (FORCE)"))
            admin.dispose()
    sizes = sorted(table)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"\nload average at the end: {load} on {os.cpu_count()} cores (the timings include waiting for a core)")
    print(f"{args.runs} lookups per kind; ms: wall median / p99 (how many found orders) [app CPU median / p99]")
    print(f"{'kind':<16}" + "".join(f"{f'{size:,} orders':>44}" for size in sizes))
    for kind in table[sizes[0]]:
        cells = ""
        for size in sizes:
            median, high, found, cpu_median, cpu_high = table[size][kind]
            cells += f"{f'{median:6.2f} / {high:6.2f} ({found}) [{cpu_median:5.2f} / {cpu_high:5.2f}]':>44}"
        print(f"{kind:<16}{cells}")
    worst = max(max(row[0] for row in table[s].values()) for s in sizes)
    worst_p99 = max(max(row[1] for row in table[s].values()) for s in sizes)
    verdict = "OK" if worst < 50 and worst_p99 < 150 else "OVER TARGET"
    print(f"worst median {worst:.2f} ms, worst p99 {worst_p99:.2f} ms: {verdict}")


if __name__ == "__main__":
    main()
