"""Chaos run: orders paid by Alipay, WeChat Pay and card while the site's processes are killed.

The site runs as `make run` serves it (scripts/serve.sh): gunicorn with 2 workers on 127.0.0.1 and a free
port, and the job worker (`flask jobs run`) beside it, on SQLite in a temporary directory (or on
DATABASE_URL / BENCH_DATABASE_URL, e.g. PostgreSQL). Travellers sign in, check out with "Pay with"
Alipay, WeChat Pay or card on the review page, and pay at each method's sandbox cashier with its
notifications sent normally, never, three times, out of order or late; some cancel before or after
paying, some never pay. Meanwhile the job worker and gunicorn workers are killed with SIGKILL (a new
job worker is started; gunicorn forks a new worker), and the sandbox carrier answers slowly part of the
time. The sandboxes' notification deliveries run inside the app processes, so killing them also checks
that pending notifications survive as rows.

Then the clock is moved on (orders' pay-by and query times and leases are set in the past, as if the
time had passed) and the run waits, bounded, until nothing is left to do, and reads the books per
method: for each trade a provider's sandbox says is paid, our side has exactly one pack for the order,
or a full refund the provider confirms; never both, never twice, never neither; an order paid without
data only in a staff queue with its reason.

Run: .venv/bin/python bench/chaos.py [ORDERS_PER_METHOD] (default 20; DATABASE_URL for PostgreSQL).
Prints a table per method: orders, paid at the provider, data added once, refunded, doubled, stuck.
"""

import http.client
import http.cookiejar
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.path.dirname(sys.executable)
sys.path.insert(0, ROOT)
METHODS = ("alipay", "wechat", "stripe")
CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
PAY_FORM = re.compile(r'<form method="post" action="([^"]*/pay[^"]*)"')
# Each order's steps, in the order they happen; "pay:B" pays at the cashier with notification behaviour B.
# A small run (7 orders a method) plays the first seven.
SCENARIOS = (
    ("cancel", "pay:normal"),  # a cashier kept open, paid after cancelling: refused, or refunded in full
    ("pay:drop",),  # the notification lost: the query job finds the payment
    ("pay:repeat",),
    ("pay:reorder", "cancel"),  # too late to cancel: the data is added
    ("pay:delay",),
    ("pay:drop", "cancel"),  # the cancel finds the payment at the provider
    ("cancel",),  # never paid
    ("pay:normal",),
    ("pay:normal", "cancel"),
    (),  # never paid, never cancelled: it expires
)
GUNICORN_ARGS = ("--workers", "2", "--threads", "4")  # as scripts/serve.sh
SETTLE_SECONDS = 60
REQUEST_TIMEOUT = 20


@dataclass
class Run:
    """One chaos run's processes, address and what happened to it."""

    env: dict
    base: str = ""
    gunicorn: subprocess.Popen | None = None
    worker: subprocess.Popen | None = None
    kills: dict = field(default_factory=lambda: {"job worker": 0, "gunicorn worker": 0, "carrier slow": 0})
    errors: list = field(default_factory=list)  # requests that failed (a killed worker's), by kind
    statuses: list = field(default_factory=list)
    orders: list = field(default_factory=list)  # (method, order number) of each order placed
    steps: list = field(default_factory=list)  # (order number, step, status) as the travellers played them


# --- processes ------------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def settings(database_url: str, workdir: str, port: int) -> dict:
    """The environment of the site, its job worker and this process (which reads the books)."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "FLASK_APP": "app",
        "PORT": str(port),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "SECRET_KEY": "chaos-" + "k7Qp2xVr9mZ4" * 4,
        "ALIPAY_KEY_DIR": f"{workdir}/alipay",
        "WECHATPAY_KEY_DIR": f"{workdir}/wechat",
        "SANDBOX_TIME_SCALE": "0.001",  # Alipay's 25 hours of retries in ~90 s
        "CARRIER_SLOW_SECONDS": "0.5",
        "CARRIER_CACHE_SECONDS": "0",
        # Many travellers sign in from 127.0.0.1 in a few seconds: the limits are not what is tested here.
        "SIGNIN_IP_LIMIT": "1000 per hour",
        "SIGNIN_BURST_LIMIT": "1000 per minute",
        "VERIFY_IP_LIMIT": "1000 per hour",
    }


def start_site(run: Run) -> None:
    port = run.env["PORT"]
    run.gunicorn = subprocess.Popen(
        [BIN + "/gunicorn", *GUNICORN_ARGS, "--bind", f"127.0.0.1:{port}", "--log-level", "error", "app:create_app()"],
        cwd=ROOT,
        env=run.env,
    )
    run.base = f"http://127.0.0.1:{port}"
    start_worker(run)
    for _ in range(300):
        try:
            urllib.request.urlopen(run.base + "/", timeout=2).read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the site did not start")


def start_worker(run: Run) -> None:
    """A job worker as scripts/serve.sh starts it (a shorter sleep: a round at least every second)."""
    run.worker = subprocess.Popen(
        [BIN + "/flask", "jobs", "run", "--sleep", "1"], cwd=ROOT, env=run.env, stderr=subprocess.DEVNULL
    )


def gunicorn_workers(run: Run) -> list[int]:
    assert run.gunicorn is not None
    path = f"/proc/{run.gunicorn.pid}/task/{run.gunicorn.pid}/children"
    with open(path) as children:
        return [int(pid) for pid in children.read().split()]


def kill_job_worker(run: Run) -> None:
    """SIGKILL the job worker, wherever it is (mid-claim, mid-carrier call), and start a new one."""
    assert run.worker is not None
    run.worker.kill()
    run.worker.wait()
    run.kills["job worker"] += 1
    start_worker(run)


def kill_gunicorn_worker(run: Run, rng: random.Random) -> None:
    """SIGKILL one gunicorn worker (its requests and its sandbox delivery thread die); gunicorn forks another."""
    workers = gunicorn_workers(run)
    if workers:
        os.kill(rng.choice(workers), signal.SIGKILL)
        run.kills["gunicorn worker"] += 1


def stop_site(run: Run) -> None:
    for process in (run.worker, run.gunicorn):
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- a traveller's browser ------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A cookie-keeping client that does not follow redirects; a request cut off by a killed worker is
    sent again (the traveller presses again), up to three times."""

    def __init__(self, run: Run):
        self.run = run
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )

    def request(self, path: str, data: dict | None = None) -> tuple[int, str, str]:
        """(status, body, Location) of GET `path`, or POST `data` to it."""
        url = path if path.startswith("http") else self.run.base + path
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        for attempt in range(3):
            try:
                with self.opener.open(urllib.request.Request(url, body), timeout=REQUEST_TIMEOUT) as answer:
                    return answer.status, answer.read().decode(), answer.headers.get("Location", "")
            except urllib.error.HTTPError as error:
                try:
                    text = error.read().decode()
                except (OSError, http.client.HTTPException):  # cut off mid-answer
                    text = ""
                status = (error.code, text, error.headers.get("Location", ""))
                if error.code < 500 or attempt == 2:
                    return status
                self.run.errors.append(f"{error.code} {urllib.parse.urlsplit(url).path}")
            except (OSError, http.client.HTTPException) as error:
                self.run.errors.append(f"{type(error).__name__} {urllib.parse.urlsplit(url).path}")
                if attempt == 2:
                    return 0, "", ""
            time.sleep(0.2)
        return 0, "", ""

    def post_form(self, page: str, action: str | None = None, **data) -> tuple[int, str, str]:
        """Open `page`, then post its form with its CSRF token (to `action`, default the page itself)."""
        status, html, _ = self.request(page)
        token = CSRF.search(html)
        if token is None:
            return status, html, ""
        return self.request(action or page, {"csrf_token": token.group(1), **data})


# --- the travellers' side -------------------------------------------------------------------------


def prepare(env: dict, per_method: int) -> dict[str, list[tuple[str, int]]]:
    """Demo plans, and per method a traveller (phone) with `per_method` bound cards: {method: [(phone, card id)]}."""
    from app import create_app
    from extensions import db
    from models import Account, Card
    from rules.travellers import iccid
    from sandbox import demo_data

    app = create_app()
    cards: dict[str, list[tuple[str, int]]] = {}
    with app.app_context():
        demo_data.seed()
        for m, method in enumerate(METHODS):
            phone = f"+8529123456{m}"  # numbers in use in Hong Kong (the sign-in form checks)
            account = Account(phone=phone, locale="en")
            db.session.add(account)
            made = []
            for index in range(per_method):
                msisdn = f"+8526{m + 1:02d}{index:05d}"
                card = Card(msisdn=msisdn, iccid=iccid.with_check_digit("8985200" + msisdn[-11:]), account=account)
                db.session.add(card)
                made.append(card)
            db.session.commit()
            cards[method] = [(phone, card.id) for card in made]
    return cards


def sms_code(phone: str) -> str:
    from extensions import db
    from models import SmsMessage

    message = db.session.scalars(
        db.select(SmsMessage).where(SmsMessage.to_phone == phone).order_by(SmsMessage.id.desc())
    ).first()
    db.session.rollback()
    match = re.search(r"\b(\d{6})\b", message.body if message else "")
    return match.group(1) if match else ""


def sign_in(run: Run, app, phone: str) -> Browser:
    browser = Browser(run)
    browser.post_form("/login", phone=phone)
    with app.app_context():
        code = sms_code(phone)
    status, _, _ = browser.post_form("/login/code", code=code)
    if status != 303:
        raise RuntimeError(f"signing in {phone} failed: {status}")
    return browser


def checkout(browser: Browser, card_id: int, method: str) -> str | None:
    """Confirm a plan for the card with "Pay with" `method` on the review page; the order's number."""
    review = f"/checkout?plan=gba-3d&card={card_id}"
    status, _, location = browser.post_form(
        review, "/checkout/confirm", plan="gba-3d", card=card_id, start="after_current", payment_method=method
    )
    browser.run.statuses.append(status)
    found = re.search(r"/orders/([^/]+)/pay", location)
    return found.group(1) if found else None


def pay(browser: Browser, cashier: str, behaviour: str) -> int:
    """Open the kept cashier address and press Pay with `behaviour`; the answer's status."""
    status, html, _ = browser.request(cashier)
    form, token = PAY_FORM.search(html), CSRF.search(html)
    if form is None or token is None:  # closed or expired: the cashier no longer offers Pay
        return status
    data = {"csrf_token": token.group(1), "behaviour": behaviour, "delay": "1", "currency": "HKD"}
    return browser.request(form.group(1).replace("&amp;", "&"), data)[0]


def play(browser: Browser, number: str, steps: tuple[str, ...]) -> None:
    """One order's scenario: its cashier address kept (as a tab left open), then each step."""
    status, _, cashier = browser.request(f"/orders/{number}/pay")
    browser.run.statuses.append(status)
    browser.run.steps.append((number, "cashier", status))
    for step in steps:
        action, _, behaviour = step.partition(":")
        if action == "pay" and cashier:
            status = pay(browser, cashier, behaviour)
        elif action == "cancel":
            status = browser.post_form(f"/orders/{number}", f"/orders/{number}/cancel")[0]
        browser.run.statuses.append(status)
        browser.run.steps.append((number, step, status))


def traveller(run: Run, app, method: str, cards: list[tuple[str, int]], seed: int) -> None:
    """A traveller paying by `method`: one order per card, the scenarios in turn."""
    rng = random.Random(seed)
    browser = sign_in(run, app, cards[0][0])
    for index, (_phone, card_id) in enumerate(cards):
        number = checkout(browser, card_id, method)
        if number is None:
            continue
        run.orders.append((method, number))
        play(browser, number, SCENARIOS[index % len(SCENARIOS)])
        time.sleep(rng.uniform(0, 0.2))


def chaos(run: Run, stop: threading.Event, seed: int) -> None:
    """Until `stop`: every second or so kill the job worker, a gunicorn worker, or flip the carrier to slow."""
    rng = random.Random(seed)
    admin = Browser(run)
    slow = False
    turn = 0
    while not stop.wait(rng.uniform(0.6, 1.4)):
        kind = turn % 3
        turn += 1
        if kind == 0:
            kill_job_worker(run)
        elif kind == 1:
            kill_gunicorn_worker(run, rng)
        else:
            slow = not slow
            admin.post_form("/sandbox/carrier", mode="slow" if slow else "normal")
            run.kills["carrier slow"] += slow
    admin.post_form("/sandbox/carrier", mode="normal")


# --- settling and the books -------------------------------------------------------------------------


def move_clock_on() -> None:
    """As if the time the jobs wait for had passed: the query's head start, pay-by and the late-payment
    margin, leases left by killed workers, a refund's next try."""
    from datetime import timedelta

    import jobs
    from extensions import db
    from models import Order, Refund, utcnow

    # Only just past what the jobs wait for: Stripe's sessions of an order are looked for among those made
    # while it was payable (give or take gateways.stripe_checkout.CLOCK_SLACK), and the sandbox's clock stays.
    past = utcnow() - jobs.LATE_MARGIN - jobs.QUERY_AFTER - timedelta(seconds=5)
    db.session.execute(db.update(Order).values(created_at=past, pay_by=past, next_check_at=None))
    db.session.execute(db.update(Refund).where(Refund.done_at.is_(None)).values(next_attempt_at=None))
    db.session.commit()


def unsettled() -> dict[str, int]:
    """What is still under way: notifications owed, orders unpaid or paid without data, refunds open."""
    from sqlalchemy import func, select

    from extensions import db
    from models import Order, Refund
    from rules.payments import refunds
    from sandbox import deliveries

    states = dict(db.session.execute(select(Order.state, func.count()).group_by(Order.state)).all())
    open_refunds = db.session.scalar(select(func.count()).select_from(Refund).where(Refund.status.in_(refunds.OPEN)))
    left = {
        "notifications owed": deliveries.pending(),
        "unpaid": states.get("pending_payment", 0),
        "paid without data": states.get("paid", 0),
        "refunds open": open_refunds or 0,
    }
    db.session.rollback()
    return {name: count for name, count in left.items() if count}


def settle(run: Run, app, seconds: float = SETTLE_SECONDS) -> dict[str, int]:
    """Wait (bounded) until nothing is under way; what was still under way at the deadline."""
    deadline = time.monotonic() + seconds
    clock_moved = False
    while True:
        with app.app_context():
            left = unsettled()
            if not clock_moved and not left.get("notifications owed"):
                move_clock_on()  # the deliveries first: a query must not overtake what the provider still posts
                clock_moved = True
                continue
            if clock_moved and not left:
                return {}
            if time.monotonic() > deadline:
                return left
            if clock_moved:
                move_clock_on()  # a lease taken since (a worker claimed and died) runs out at once
        browser = Browser(run)  # a visit: a restarted gunicorn worker's first request wakes its deliveries
        browser.request("/")
        time.sleep(0.5)


@dataclass
class Books:
    """One method's books: how each trade paid at the provider ended on our side."""

    orders: int = 0
    paid: int = 0
    added_once: int = 0
    refunded: int = 0
    doubled: int = 0
    stuck: int = 0
    in_staff_queue: int = 0
    problems: list = field(default_factory=list)


def paid_trades(method: str) -> list[tuple[str, str, int, int]]:
    """(order number, trade id, amount, refunded at the provider) per trade the provider's sandbox says is paid."""
    from sqlalchemy import func, select

    from extensions import db
    from sandbox.models import SandboxTrade, SandboxWechatRefund, SandboxWechatTrade
    from sandbox.stripe_models import SandboxStripeRefund, SandboxStripeSession

    if method == "alipay":
        trades = db.session.scalars(select(SandboxTrade).where(SandboxTrade.paid_at.is_not(None)))
        return [
            (t.out_trade_no, t.trade_no, round(float(t.total_amount) * 100), t.refunded_amount_cents) for t in trades
        ]
    if method == "wechat":
        rows = []
        for t in db.session.scalars(select(SandboxWechatTrade).where(SandboxWechatTrade.paid_at.is_not(None))):
            back = select(func.coalesce(func.sum(SandboxWechatRefund.amount_cents), 0)).where(
                SandboxWechatRefund.out_trade_no == t.out_trade_no
            )
            rows.append((t.out_trade_no, t.transaction_id, t.total_cents, db.session.scalar(back)))
        return rows
    rows = []
    for s in db.session.scalars(select(SandboxStripeSession).where(SandboxStripeSession.payment_status == "paid")):
        back = select(func.coalesce(func.sum(SandboxStripeRefund.amount), 0)).where(
            SandboxStripeRefund.payment_intent == s.payment_intent, SandboxStripeRefund.status == "succeeded"
        )
        rows.append((s.client_reference_id or "", s.payment_intent or "", s.amount_total, db.session.scalar(back)))
    return rows


def story(order) -> str:
    """The order's timeline, its notifications and its calls to the provider, for a problem found."""
    from sqlalchemy import select

    from extensions import db
    from models import GatewayCall, PaymentNotification

    moves = [f"{t.from_state}->{t.to_state} by {t.cause} {t.details or ''}" for t in order.transitions]
    heard = db.session.scalars(select(PaymentNotification).where(PaymentNotification.out_trade_no == order.number))
    calls = db.session.scalars(select(GatewayCall).where(GatewayCall.order_id == order.id).order_by(GatewayCall.id))
    return "; ".join(
        [*moves, *(f"notification {n.outcome} x{n.repeats + 1}" for n in heard)]
        + [f"{c.api} ({c.cause}): {c.outcome}" for c in calls]
    )


def books(numbers: list[tuple[str, str]]) -> dict[str, Books]:
    """Per method, each paid trade: one pack for its order, or a full refund done here and at the provider."""
    from sqlalchemy import false, func, or_, select

    from extensions import db
    from models import CardPack, Order, Refund
    from rules.ordering.order_states import WAITING_FOR_STAFF

    result = {method: Books() for method in METHODS}
    for method, _number in numbers:
        result[method].orders += 1
    for method in METHODS:
        ledger = result[method]
        for number, trade_no, amount, theirs in paid_trades(method):
            ledger.paid += 1
            order = db.session.scalars(select(Order).where(Order.number == number)).one()
            packs = db.session.scalar(select(func.count(CardPack.id)).where(CardPack.order_id == order.id))
            its_own = order.trade_no == trade_no  # the trade the order was paid by (not a second one)
            # A refund names its trade; none named: the order's own.
            of_trade = or_(Refund.trade_no == trade_no, Refund.trade_no.is_(None) if its_own else false())
            ours = db.session.scalar(
                select(func.coalesce(func.sum(Refund.amount_cents), 0)).where(
                    Refund.order_id == order.id, of_trade, Refund.status == "done"
                )
            )
            data = its_own and packs == 1 and order.state == "fulfilled"
            refund = ours == amount == theirs and (not its_own or packs == 0)
            seen = (number, method, order.state, packs, amount, ours, theirs, story(order))
            if packs > 1 or (its_own and packs and ours) or ours > amount or theirs > amount:
                ledger.doubled += 1
                ledger.problems.append(("doubled", *seen))
            elif data:
                ledger.added_once += 1
            elif refund:
                ledger.refunded += 1
            elif order.state in WAITING_FOR_STAFF and order.transitions and order.transitions[-1].details:
                ledger.in_staff_queue += 1  # paid, no data yet, with staff and the reason recorded
            else:
                ledger.stuck += 1
                ledger.problems.append(("stuck", *seen))
        db.session.rollback()
    return result


def table(result: dict[str, Books]) -> str:
    columns = ("orders", "paid", "data once", "refunded", "doubled", "stuck", "staff")
    lines = [f"{'method':<8} " + " ".join(f"{name:>9}" for name in columns)]
    for method, b in result.items():
        figures = (b.orders, b.paid, b.added_once, b.refunded, b.doubled, b.stuck, b.in_staff_queue)
        lines.append(f"{method:<8} " + " ".join(f"{figure:>9}" for figure in figures))
    return "\n".join(lines)


# --- the whole run ----------------------------------------------------------------------------------


def chaos_run(database_url: str | None = None, per_method: int = 20, seed: int = 7) -> tuple[Run, dict, dict]:
    """Serve the site, play the travellers with chaos, settle, read the books: (run, books, left unsettled).

    `database_url` must be an empty, migrated database when given; else SQLite in a temporary directory.
    """
    workdir = tempfile.mkdtemp(prefix="roamrenew-chaos-")
    port = free_port()
    env = settings(database_url or f"sqlite:///{workdir}/chaos.db", workdir, port)
    saved = dict(os.environ)
    os.environ.update(env)  # this process reads the books from the same database with the same settings
    run = Run(env=env)
    try:
        subprocess.run([BIN + "/flask", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
        from app import create_app

        cards = prepare(env, per_method)
        app = create_app()
        start_site(run)
        stop = threading.Event()
        troublemaker = threading.Thread(target=chaos, args=(run, stop, seed))
        travellers = [
            threading.Thread(target=traveller, args=(run, app, method, cards[method], seed + i))
            for i, method in enumerate(METHODS)
        ]
        troublemaker.start()
        for thread in travellers:
            thread.start()
        for thread in travellers:
            thread.join()
        stop.set()
        troublemaker.join()
        if run.worker is None or run.worker.poll() is not None:
            start_worker(run)
        left = settle(run, app)
        with app.app_context():
            result = books(run.orders)
        return run, result, left
    finally:
        stop_site(run)
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    per_method = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    started = time.monotonic()
    url = os.environ.get("BENCH_DATABASE_URL")
    run, result, left = chaos_run(url, per_method)
    print(table(result))
    print(f"killed: {run.kills}; requests cut off and sent again: {len(run.errors)}")
    print(f"server errors (5xx) seen by travellers: {sum(1 for s in run.statuses if s >= 500)}")
    if left:
        print(f"still under way after {SETTLE_SECONDS} s: {left}")
    for b in result.values():
        for problem in b.problems:
            print("  ", *problem)
    print(f"{time.monotonic() - started:.0f} s in all")


if __name__ == "__main__":
    main()
