"""Fixtures: an app on a real migrated database (SQLite, or PostgreSQL by TEST_DATABASE_URL),
a client that keeps CSRF on, and helpers to sign in the way a traveller does."""

import os
import re

import flask_migrate
import pytest
from sqlalchemy import text

from app import create_app
from extensions import db

IN_CI = os.environ.get("CI") == "true"
CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def database_url(tmp_path_factory) -> str:
    return os.environ.get("TEST_DATABASE_URL") or "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")


@pytest.fixture(scope="session")
def migrated_url(tmp_path_factory):
    """The test database, emptied and brought to the newest migration once per run."""
    url = database_url(tmp_path_factory)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        db.drop_all()
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        flask_migrate.upgrade()
    return url


def wipe(app) -> None:
    with app.app_context():
        db.session.remove()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
        db.engine.dispose()


@pytest.fixture
def app_with(migrated_url):
    """Build apps with extra settings on the test database; its rows are wiped afterwards."""
    made = []

    def build(**overrides):
        made.append(create_app({"SQLALCHEMY_DATABASE_URI": migrated_url, "TESTING": True, **overrides}))
        return made[-1]

    yield build
    if made:
        wipe(made[0])


@pytest.fixture
def app(app_with):
    return app_with()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def plans(app):
    from sandbox import demo_data

    with app.app_context():
        demo_data.seed()


def csrf_token(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


def post_form(client, page_url: str, action: str | None = None, **data):
    """Open `page_url` like a browser, then post its form with the page's CSRF token."""
    page = client.get(page_url)
    return client.post(action or page_url, data={"csrf_token": csrf_token(page.text), **data})


def last_sms(app, phone: str) -> str:
    from models import SmsMessage

    with app.app_context():
        message = db.session.scalars(
            db.select(SmsMessage).where(SmsMessage.to_phone == phone).order_by(SmsMessage.id.desc())
        ).first()
        return message.body if message else ""


def code_from_sms(body: str) -> str:
    return re.search(r"\b(\d{6})\b", body).group(1)


@pytest.fixture
def sign_in(app, client):
    """Sign `client` in as `phone` through the real SMS-code flow; returns the phone in E.164."""

    def sign_in(phone: str = "+85291234567", the_client=None):
        the_client = the_client or client
        response = post_form(the_client, "/login", phone=phone)
        assert response.status_code == 303, response.text
        code = code_from_sms(last_sms(app, phone))
        response = post_form(the_client, "/login/code", code=code)
        assert response.status_code == 303, response.text
        return phone

    return sign_in


def bind_card(app, client, number: str = "6123 4567", iccid_text: str | None = None, **fields):
    """Bind a card as a traveller does: the form, then the code texted to the card's number
    (none for the signed-in number). Returns the last response."""
    from rules.travellers import iccid, phones

    iccid_text = iccid_text or iccid.with_check_digit("898520012345678901")
    response = post_form(client, "/cards", number=number, iccid=iccid_text, **fields)
    if response.status_code == 303 and response.headers["Location"] == "/cards/confirm":
        with app.test_request_context():
            msisdn = phones.normalise(number)
        response = post_form(client, "/cards/confirm", code=code_from_sms(last_sms(app, msisdn)))
    return response


# --- a live server and a real browser --------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Two passes run side by side (scripts/run-tests.sh): each keeps its own screenshots.
SCREENSHOTS = os.environ.get("SCREENSHOT_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "test-artifacts", "screenshots"
)


def pytest_collection_modifyitems(config, items):
    """Browser tests skip where Chromium is missing, except under CI, where they must run."""
    if os.path.exists(CHROMIUM) or IN_CI:
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} not installed (apt-get install chromium chromium-driver)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
        "locale": "en-GB",
    }


@pytest.fixture
def live_server(app, request):
    """The app on a real HTTP server at 127.0.0.1 (a free port), stopped after the test.

    For a browser journey a job worker runs beside it (a paid order gets its data as in production);
    other tests run the jobs themselves (run_jobs), so what they count is theirs.
    """
    yield from _serve(app, with_worker=request.node.get_closest_marker("browser") is not None)


def _serve(app, with_worker: bool):
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stop = threading.Event()
    worker = threading.Thread(target=_job_worker, args=(app, stop), daemon=True)
    if with_worker:
        worker.start()
    yield app.config["PUBLIC_BASE_URL"]
    stop.set()
    if with_worker:
        worker.join(timeout=10)
    server.shutdown()
    thread.join(timeout=5)


def _job_worker(app, stop) -> None:
    """jobs.run_once every 0.2 s until `stop` (a round that fails is retried, as `jobs run` does)."""
    import jobs

    while not stop.wait(0.2):
        with app.app_context():
            try:
                jobs.run_once()
            except Exception:
                db.session.rollback()


def run_jobs(app) -> dict:
    """One round of the job worker (adds the data of paid orders, attempts due refunds, sends SMS)."""
    import jobs

    with app.app_context():
        return jobs.run_once()


@pytest.fixture
def no_js_page(browser, browser_context_args):
    context = browser.new_context(**browser_context_args, java_script_enabled=False)
    yield context.new_page()
    context.close()


def screenshot(page, name: str) -> None:
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


# --- orders ----------------------------------------------------------------------------------


def make_order(app, plan_code="gba-3d", phone="+85291234567", msisdn="+85261234567", promo=None, locale="en") -> str:
    """An unpaid order for a card of `phone`'s account, made by the real checkout rule; its number."""
    from models import Account, Card, Plan
    from rules.ordering import orders
    from rules.travellers import iccid
    from sandbox import demo_data

    with app.test_request_context():
        if db.session.scalar(db.select(Plan.id).limit(1)) is None:
            demo_data.seed()
        account = db.session.scalars(db.select(Account).where(Account.phone == phone)).first()
        if account is None:
            account = Account(phone=phone)
            db.session.add(account)
        card = db.session.scalars(db.select(Card).where(Card.msisdn == msisdn)).first()
        if card is None:
            card = Card(msisdn=msisdn, iccid=iccid.with_check_digit("8985200" + msisdn[-11:]), account=account)
            db.session.add(card)
        plan = db.session.scalars(db.select(Plan).where(Plan.code == plan_code)).one()
        db.session.flush()
        order = orders.create_order(account, card, plan, promo, locale)
        db.session.commit()
        return order.number


def load_order(app, number: str):
    """The order with its timeline, read fresh from the database (detached, attributes loaded)."""
    from models import Order

    with app.app_context():
        order = db.session.scalars(db.select(Order).where(Order.number == number)).one()
        _ = order.transitions, order.card, order.plan
        db.session.expunge_all()
        return order
