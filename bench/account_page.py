"""Speed of /account for a signed-in traveller with 3 cards and 90 days of readings each, served by
gunicorn on 127.0.0.1 like /plans in pages.py: requests per second as a ratio to the hello-world in the
same run, and the SQL queries per request (the same for 1 card as for 3: no query per card or pack).

Run: python bench/account_page.py (pages.py runs it after its own figures).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import pages  # noqa: E402

CARDS = 3
DAYS = 90
PHONE = "+85291234567"


def prepare() -> None:
    """In the bench database (DATABASE_URL): the traveller, signed in; 1 card, then 3; print a JSON line
    with the session cookie and the queries of /account (cold: asks the carrier; warm: kept answer)."""
    sys.path.insert(0, ROOT)
    from datetime import timedelta

    from sqlalchemy import event, select

    from app import create_app
    from extensions import db
    from models import Account, Card, CardPack, SmsMessage, UsageReading, utcnow
    from rules.travellers import iccid, usage

    app = create_app()
    client = app.test_client()
    # The browser the load comes from: a session is tied to its User-Agent (Flask-Login's session protection).
    client.environ_base["HTTP_USER_AGENT"] = pages.BROWSER["User-Agent"]

    def token(html: str) -> str:
        return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)

    client.post("/login", data={"csrf_token": token(client.get("/login").text), "phone": PHONE})
    with app.app_context():
        body = db.session.scalars(select(SmsMessage.body).order_by(SmsMessage.id.desc())).first()
    code = re.search(r"\b(\d{6})\b", body).group(1)
    client.post("/login/code", data={"csrf_token": token(client.get("/login/code").text), "code": code})

    def add_cards(count: int) -> None:
        with app.app_context():
            account = db.session.scalars(select(Account).where(Account.phone == PHONE)).one()
            now, today = utcnow(), usage.hk_day(utcnow())
            start = db.session.query(Card).count()
            for index in range(start, start + count):
                card = Card(
                    msisdn=f"+8526123{index:04d}",
                    iccid=iccid.with_check_digit(f"89852001{index:010d}"),
                    account_id=account.id,
                    nickname=f"Card {index + 1}",
                )
                db.session.add(card)
                db.session.flush()
                db.session.add(
                    CardPack(
                        card_id=card.id,
                        data_mb=30720,
                        used_mb=18000,
                        starts_at=now - timedelta(days=20),
                        ends_at=now + timedelta(days=10),
                    )
                )
                db.session.add(
                    CardPack(
                        card_id=card.id,
                        data_mb=30720,
                        starts_at=now + timedelta(days=10),
                        ends_at=now + timedelta(days=40),
                    )
                )
                db.session.add_all(
                    UsageReading(card_id=card.id, day=today - timedelta(days=back), used_mb=(DAYS - back) * 200)
                    for back in range(DAYS, 0, -1)
                )
            db.session.commit()

    def queries() -> int:
        count = [0]

        def counted(*args):
            count[0] += 1

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", counted)
        try:
            assert client.get("/account").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", counted)
        return count[0]

    add_cards(1)
    one = {"cold": queries(), "warm": queries()}
    add_cards(CARDS - 1)
    three = {"cold": queries(), "warm": queries()}
    print(json.dumps({"cookie": client.get_cookie("session").value, "one": one, "three": three}))


def main() -> None:
    workdir = tempfile.mkdtemp(prefix="roamrenew-bench-account-")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{workdir}/bench.db", "FLASK_APP": "app"}
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    subprocess.run([flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([flask, "seed-demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    made = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "prepare"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    prepared = json.loads(made.stdout.decode().strip().splitlines()[-1])
    signed_in = {**pages.BROWSER, "Cookie": f"session={prepared['cookie']}"}
    site, site_url = pages.serve("app:create_app()", ROOT, env)
    hello, hello_url = pages.serve("hello:app", HERE, env)
    try:
        page = urllib.request.urlopen(
            urllib.request.Request(site_url + "/account", headers={**signed_in, "Accept-Encoding": "identity"})
        ).read()
        assert page.count(b'class="card usage-card"') == CARDS, "the bench traveller is not signed in"
        rounds = [
            (
                pages.requests_per_second(hello_url + "/", {}),
                pages.requests_per_second(site_url + "/account", signed_in),
                pages.requests_per_second(site_url + "/cards", signed_in),  # a signed-in page, for scale
            )
            for _ in range(pages.ROUNDS)
        ]
    finally:
        for process in (site, hello):
            process.terminate()
            process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    one, three = prepared["one"], prepared["three"]
    print(f"/account SQL queries per request, 1 card: {one['cold']} (carrier asked), {one['warm']} (answer kept)")
    print(
        f"/account SQL queries per request, {CARDS} cards: "
        f"{three['cold']} (carrier asked), {three['warm']} (answer kept)"
    )
    for hello_rps, account_rps, cards_rps in rounds:
        print(
            f"/account ({CARDS} cards, {DAYS} days of readings each): {account_rps:.0f} req/s; "
            f"hello world: {hello_rps:.0f} req/s; ratio {account_rps / hello_rps:.3f} "
            f"(signed-in /cards: ratio {cards_rps / hello_rps:.3f})"
        )
    ratios = sorted(account / hello for hello, account, _ in rounds)
    print(f"median ratio /account to hello world: {ratios[len(ratios) // 2]:.3f}")


if __name__ == "__main__":
    prepare() if sys.argv[1:] == ["prepare"] else main()
