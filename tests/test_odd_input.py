"""Odd input never gives a 500, on SQLite and PostgreSQL, and never touches another account's rows.

First the known cases, one test each; then a property: generated text (NUL, surrogates, other
scripts' digits, CR/LF, 10 KB strings, dates far away, integers past 32 bits, accents and emoji) in
every path value, query parameter and form field of every route in the URL map, sent by a
signed-in traveller, and of every staff route, sent by an agent, a supervisor and an admin.
"""

import os
import re
import threading
import urllib.parse
from pathlib import Path

import pytest
import requests
from conftest import code_from_sms, csrf_token, last_sms, make_order, post_form
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from staff_support import make_staff, paid_order_number, post, staff_sign_in

from app import create_app
from extensions import db
from models import Account, Card, Order
from rules.ordering import receipts
from rules.staff import staff_accounts
from rules.travellers import iccid

ROOT = Path(__file__).resolve().parent.parent
ME, OTHER = "+85291234567", "+85298765432"
ICCID = iccid.with_check_digit("898520012345678901")  # the sandbox's demo SIM of +852 6123 4567
MY_ICCID = iccid.with_check_digit("898520077777777777")  # a SIM for ME, new to the carrier


# --- the known cases ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["²", "٣", "１", "-1", "1" * 30, "1e3"])
def test_a_card_id_in_other_digits_is_refused_with_a_message(app, client, sign_in, plans, value):
    sign_in()
    make_order(app, phone=ME)  # binds a card to this account
    page = client.get("/checkout", query_string={"plan": "gba-3d", "card": value})
    assert page.status_code == 404 and "not in your cards" in page.text
    confirm = post_form(client, "/cards", action="/checkout/confirm", plan="gba-3d", card=value, quoted="²")
    assert confirm.status_code == 404


def test_a_quoted_total_in_other_digits_is_ignored_not_a_500(app, client, sign_in, plans):
    sign_in()
    make_order(app, phone=ME, msisdn="+85261112222", plan_code="hk-1d")
    with app.app_context():
        card_id = db.session.scalar(select(Card.id).where(Card.msisdn == "+85261112222"))
    response = post_form(client, "/cards", action="/checkout/confirm", plan="gba-3d", card=str(card_id), quoted="²")
    assert response.status_code in (200, 204, 303)


@pytest.mark.parametrize("target", ["/%0d%0aX:1", "/%0aX:1", "/%09/evil.example", "/\x7f"])
def test_a_language_switch_with_control_characters_in_next_goes_home(client, target):
    response = client.get("/lang/en?next=" + target)
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_a_sign_in_started_with_crlf_in_next_ends_on_the_account_page(app, client):
    page = client.get("/login?next=/cards%0d%0aX:1")
    response = client.post("/login", data={"csrf_token": csrf_token(page.text), "phone": ME, "next": "/cards\r\nX:1"})
    assert response.status_code == 303
    code = code_from_sms(last_sms(app, ME))
    done = post_form(client, "/login/code", code=code)
    assert done.status_code == 303 and done.headers["Location"] == "/account"  # the signed-in home


@pytest.mark.parametrize(
    "url", ["/plans/a%00b", "/receipts/RR%00/x", "/orders/RR%00", "/plans?region=%00", "/lang/en?next=/%00"]
)
def test_a_nul_in_a_url_is_refused_with_400(client, sign_in, url):
    sign_in()
    assert client.get(url).status_code == 400


def test_a_nul_in_a_nickname_is_refused_and_nothing_changes(app, client, sign_in):
    sign_in()
    response = post_form(client, "/cards", number="6123 4567", iccid=ICCID, nickname="Mum\x00")
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalars(select(Card)).all() == []


def test_eight_simultaneous_binds_of_one_card_bind_it_once_without_a_500(app, live_server):
    session = requests.Session()
    page = session.get(live_server + "/login")
    session.post(live_server + "/login", data={"csrf_token": csrf_token(page.text), "phone": ME})
    page = session.get(live_server + "/login/code")
    code = code_from_sms(last_sms(app, ME))
    session.post(live_server + "/login/code", data={"csrf_token": csrf_token(page.text), "code": code})
    token = csrf_token(session.get(live_server + "/cards").text)
    barrier, statuses = threading.Barrier(8), []

    def bind():
        barrier.wait()
        # The signed-in number binds without a texted code, so all eight reach the card row at once.
        form = {"csrf_token": token, "number": ME, "iccid": MY_ICCID, "nickname": ""}
        statuses.append(session.post(live_server + "/cards", data=form, allow_redirects=False).status_code)

    threads = [threading.Thread(target=bind) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(statuses) == 8 and all(status < 500 for status in statuses), statuses
    assert statuses.count(303) >= 1  # binding one's own card again is no change: "added" either way
    with app.app_context():
        (card,) = db.session.scalars(select(Card)).all()
        assert card.msisdn == ME and card.account_id is not None


# --- the known cases: staff and the public receipt check -----------------------------------------


@pytest.mark.parametrize("token", ["é" * 24, "٣" * 24, "🎉", "１２３", "ａ" + "0" * 23])
def test_a_receipt_check_with_a_non_ascii_token_is_not_found(app, client, token):
    number = paid_order_number(app, "fulfilled")
    assert client.get(f"/receipts/{number}/{urllib.parse.quote(token)}").status_code == 404
    with app.test_request_context():
        right = receipts.verification_token(number)
    assert client.get(f"/receipts/{number}/{right}").status_code == 200


def test_a_staff_code_typed_in_full_width_digits_signs_in(app, client, monkeypatch):
    secret = make_staff(app, "sue", "supervisor")
    monkeypatch.setattr(staff_accounts, "now", lambda: 1_800_000_000.0)
    assert post(client, "/staff/login", "/staff/login", username="sue", password="correct horse battery staple")
    code = staff_accounts.pyotp.TOTP(secret).at(1_800_000_000)
    full_width = "".join(chr(ord(digit) + 0xFEE0) for digit in code[:3]) + " " + code[3:]
    response = post(client, "/staff/login/code", "/staff/login/code", code=full_width)
    assert response.status_code == 303 and "/staff" in response.headers["Location"]


@pytest.mark.parametrize("code", ["٣٣٣٣٣٣", "🎉🎉🎉🎉🎉🎉", "é" * 6, "12345\x00"])
def test_a_staff_code_in_other_scripts_is_refused_with_a_message(app, client, code):
    make_staff(app, "sue", "supervisor")
    post(client, "/staff/login", "/staff/login", username="sue", password="correct horse battery staple")
    response = post(client, "/staff/login/code", "/staff/login/code", code=code)
    assert response.status_code in (400, 422)


FAR_DAYS = ["0001-01-01", "9999-12-31", "1900-01-01", "2100-01-01", "２０２６-01-01"]


@pytest.mark.parametrize("day", FAR_DAYS)
def test_a_staff_search_with_a_far_away_day_answers_a_page(app, client, day):
    secret = make_staff(app, "sue", "supervisor")
    assert staff_sign_in(client, "sue", secret).status_code == 303
    for query in ({"from": day}, {"to": day}, {"from": day, "to": day, "q": "RR"}):
        assert client.get("/staff", query_string=query).status_code == 200, query
        assert client.get("/staff", query_string=query, headers={"HX-Request": "true"}).status_code == 200


@pytest.mark.parametrize(
    "start, end", [("0001-01-01", "0001-01-02"), ("9999-12-30", "9999-12-31"), ("1999-12-31", "2000-01-01")]
)
def test_an_export_of_far_away_days_is_refused_before_any_line_is_sent(app, client, start, end):
    secret = make_staff(app, "sue", "supervisor")
    assert staff_sign_in(client, "sue", secret).status_code == 303
    paid_order_number(app)
    for kind in ("orders", "refunds"):
        response = client.get(f"/staff/export/{kind}.csv", query_string={"from": start, "to": end})
        assert response.status_code == 422 and "Choose days from 2000-01-01 to 2099-12-31" in response.text


ADMIN_FIELDS = {
    "plans": {"price": "99999999999", "sale_price": "9,999,999,999,999.99", "days": "2147483648", "data_mb": "9" * 20},
    "promotions": {"amount_off": "99999999999", "min_spend": "21474836.48", "max_uses": "2147483648"},
}


@pytest.mark.parametrize("kind", ["plans", "promotions"])
@pytest.mark.parametrize("when", ["0001-01-01 00:00", "9999-12-31 23:59", "1900-01-01"])
def test_admin_forms_refuse_huge_amounts_and_far_times_with_messages(app, client, plans, kind, when):
    secret = make_staff(app, "ada", "admin")
    assert staff_sign_in(client, "ada", secret).status_code == 303
    times = {"sale_starts_at": when, "sale_ends_at": when} if kind == "plans" else {"starts_at": when, "ends_at": when}
    form = {
        "code": "odd-1",
        "name_en": "Odd",
        "name_zh_hans": "奇",
        "name_zh_hant": "奇",
        "region": "hk",
        "currency": "HKD",
        "percent_off": "",
        **ADMIN_FIELDS[kind],
        **times,
    }
    response = post(client, f"/staff/admin/{kind}/new", f"/staff/admin/{kind}/new", **form)
    assert response.status_code == 422, response.status_code
    assert "at most HK$10,000,000" in response.text or "Enter a whole number" in response.text
    assert "Choose a time from 2000 to 2099" in response.text


# --- the property ------------------------------------------------------------------------------


def _rules():
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return [
        pytest.param(rule.rule, sorted(rule.methods - {"HEAD", "OPTIONS"}), sorted(rule.arguments), id=rule.endpoint)
        for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.endpoint)
        if rule.endpoint not in SKIPPED
    ]


SKIPPED = {
    "static": "files, not views",
    "auth.logout": "ends the session the property runs in; it reads no field",
}


def _field_names() -> list[str]:
    """Every field a form or a view reads: input names in the templates, form classes, request.args/form."""
    names = set()
    for template in (ROOT / "templates").rglob("*.html"):
        names |= set(re.findall(r'name="([a-z_]+)"', template.read_text()))
    for forms in ("forms.py", "staff_forms.py", "staff_money_forms.py", "catalogue_forms.py"):
        names |= set(re.findall(r"^\s+(\w+) = \w+Field\(", (ROOT / "web" / forms).read_text(), re.M))
    for module in (ROOT / "blueprints").rglob("*.py"):
        names |= set(re.findall(r'request\.(?:args|form)\.get\("(\w+)"', module.read_text()))
    names.discard("csrf_token")
    return sorted(names | {"sign", "sign_type", "out_trade_no", "method", "biz_content"})


FIELDS = _field_names()
ODD = st.one_of(
    st.sampled_from(
        [
            *("\x00", "a\x00b", "²", "٣", "１２", "-1", "0", "9" * 40, "/%0d%0aX:1", "/\r\nX:1", "\r\n", "%00"),
            *("../../etc", "//evil.example", "/\t/evil.example", "\ufeff", "\u2028", "null", "RR", "gba-3d"),
            "x" * 10_240,
            *("0001-01-01", "9999-12-31", "9999-12-31 23:59", "1900-01-01T00:00", "2026-02-30", "２０２６-01-01"),
            *("2147483648", "-2147483649", "99999999999", "9,999,999,999,999.99", "1e400", "NaN", "Infinity"),
            *("café", "Zoë", "🎉", "👨\u200d👩\u200d👧", "١٢٣٤٥٦", "１２３４５６", "ᛗ", "\u202e"),
        ]
    ),
    st.text(max_size=40),
    st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, codec=None), min_size=1, max_size=3),
    st.text(st.characters(categories=["Nd", "No", "Cc", "Zl", "Zp"]), max_size=12),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
)


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # a lone surrogate arrives as bytes no decoder accepts


def _send(client, token: str, rule: str, values: dict, fields: dict, method: str, htmx: bool) -> None:
    """One request to `rule` with `values` in its path and `fields` in its query or form; never a 500."""
    path = rule
    for name, value in values.items():
        quoted = urllib.parse.quote(_encode(value), safe="")
        path = re.sub(r"<(?:\w+:)?" + name + ">", lambda _m, q=quoted: q, path)
    pairs = [(_encode(k), _encode(v)) for k, v in fields.items()]
    headers = {"HX-Request": "true"} if htmx else {}
    if method == "GET":
        response = client.get(path, query_string=urllib.parse.urlencode(pairs), headers=headers)
    else:
        body = urllib.parse.urlencode([(b"csrf_token", token.encode()), *pairs])
        response = client.post(path, data=body, content_type="application/x-www-form-urlencoded", headers=headers)
    assert response.status_code < 500, (method, path, fields, response.status_code)


def _snapshot(app, phone: str):
    with app.app_context():
        account = db.session.scalars(select(Account).where(Account.phone == phone)).one()
        cards = db.session.execute(
            select(Card.id, Card.msisdn, Card.account_id, Card.nickname).where(Card.account_id == account.id)
        ).all()
        orders = db.session.execute(
            select(Order.number, Order.state, Order.total_cents, Order.trade_no).where(Order.account_id == account.id)
        ).all()
        return account.session_token, sorted(cards), sorted(orders)


@pytest.mark.parametrize("rule, methods, arguments", _rules())
def test_no_route_answers_odd_input_with_a_500_or_touches_another_account(
    app, client, sign_in, plans, rule, methods, arguments
):
    # Flask-Limiter's limits are read per request: lifted, so every generated request reaches its view.
    app.config.update(SIGNIN_BURST_LIMIT="100000 per minute", VERIFY_IP_LIMIT="100000 per minute")
    other_order = make_order(app, phone=OTHER, msisdn="+85265550000")
    own_order = make_order(app, phone=ME, msisdn="+85261234567")
    sign_in(ME)
    with app.app_context():
        other_card = db.session.scalar(select(Card.id).where(Card.msisdn == "+85265550000"))
    before = _snapshot(app, OTHER)
    token = csrf_token(client.get("/cards").text)
    known = st.sampled_from([other_order, own_order, str(other_card), "1", "gba-3d", "en"])
    path_value = st.one_of(ODD, known)

    @settings(
        max_examples=int(os.environ.get("ODD_INPUT_EXAMPLES", "12")),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        values=st.fixed_dictionaries(dict.fromkeys(arguments, path_value)),
        fields=st.dictionaries(st.sampled_from(FIELDS), st.one_of(ODD, known), max_size=4),
        method=st.sampled_from(methods),
        htmx=st.booleans(),
    )
    def check(values, fields, method, htmx):
        _send(client, token, rule, values, fields, method, htmx)

    check()
    assert _snapshot(app, OTHER) == before
    # The token was good all along: the POSTs above reached their views, not only the CSRF check.
    assert client.post("/cards", data={"csrf_token": token, "number": "", "iccid": ""}).status_code == 422


# --- the property, in the staff area: each role --------------------------------------------------


def _staff_rules():
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    rules = sorted(app.url_map.iter_rules(), key=lambda rule: rule.endpoint)
    return [
        pytest.param(
            rule.rule,
            sorted(rule.methods - {"HEAD", "OPTIONS"}),
            sorted(rule.arguments),
            id=rule.endpoint,
        )
        for rule in rules
        if rule.endpoint.startswith("staff.") and rule.endpoint != "staff.logout"  # logout ends the session
    ]


STAFF_CSRF = re.compile(r'"X-CSRFToken": "([^"]+)"')


@pytest.mark.parametrize("role", ["agent", "supervisor", "admin"])
@pytest.mark.parametrize("rule, methods, arguments", _staff_rules())
def test_no_staff_route_answers_odd_input_with_a_500(app, client, plans, role, rule, methods, arguments):
    app.config["PUBLIC_BASE_URL"] = "http://127.0.0.1:9"  # no gateway: a refund that gets through fails fast
    number = paid_order_number(app, phone=OTHER, msisdn="+85265550000")
    secret = make_staff(app, "alice", role)
    assert staff_sign_in(client, "alice", secret).status_code == 303
    token = STAFF_CSRF.search(client.get("/staff").text).group(1)
    known = st.sampled_from([number, "gba-3d", "plans", "promotions", "staff", "alice", "WELCOME10", "2026-11-01"])

    @settings(
        max_examples=int(os.environ.get("ODD_INPUT_EXAMPLES", "12")),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        values=st.fixed_dictionaries(dict.fromkeys(arguments, st.one_of(ODD, known))),
        fields=st.dictionaries(st.sampled_from(FIELDS), st.one_of(ODD, known), max_size=6),
        method=st.sampled_from(methods),
        htmx=st.booleans(),
    )
    def check(values, fields, method, htmx):
        _send(client, token, rule, values, fields, method, htmx)

    check()
