"""Private pages stay private: not in shared caches, not in access logs, not in error logs, not on disk."""

import contextlib
import os
import stat
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from conftest import make_order, post_form
from flask import url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from test_notify_intake import gunicorn
from werkzeug.routing.converters import NumberConverter

import config
from app import create_app
from extensions import db
from gateways import alipay_keys
from models import Account, Order, SmsMessage
from rules.ordering import receipts
from web import access_log
from web.access_log import PrivateAccessLogger, scrub


def _example_values(rule) -> dict:
    return {name: 7 if isinstance(conv, NumberConverter) else "RR7x" for name, conv in rule._converters.items()}


def _example_url(app, rule) -> str:
    """A URL of `rule` with made-up values: the rule decides the header, not what is found there."""
    with app.test_request_context():
        return url_for(rule.endpoint, **_example_values(rule))


def test_every_page_but_the_catalogue_and_static_files_is_no_store_for_a_visitor(app):
    """Walks the whole url_map as a visitor without a session: only views marked
    @cached_for_visitors may be kept by a cache; every other GET (found or not) is no-store."""
    shareable = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        url = _example_url(app, rule)
        response = app.test_client().get(url)
        assert response.status_code < 500, url
        if "no-store" not in response.headers.get("Cache-Control", ""):
            shareable.append(rule.endpoint)
            assert getattr(app.view_functions[rule.endpoint], "cached_for_visitors", False), url
    assert "main.home" in shareable and set(shareable) <= {"main.home", "plans.index", "plans.detail"}


def test_a_route_added_later_is_no_store_without_being_listed(app_with):
    app = app_with()
    app.add_url_rule("/top-up/orders/<number>/<token>/new-receipt", "new_receipt", lambda number, token: "receipt")
    response = app.test_client().get("/top-up/orders/RR1/TOKEN/new-receipt")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"


def test_signed_in_pages_are_never_stored_by_a_cache(client, sign_in):
    sign_in()
    for url in ("/cards", "/orders", "/plans", "/"):
        assert client.get(url).headers["Cache-Control"] == "no-store", url


def test_a_visitors_catalogue_page_may_be_cached_but_varies_with_the_language(client):
    page = client.get("/plans")
    assert "no-store" not in page.headers.get("Cache-Control", "")
    assert {"Accept-Language", "Cookie", "HX-Request"} <= set(page.headers["Vary"].replace(" ", "").split(","))


def test_static_files_stay_cacheable_for_a_signed_in_traveller(client, sign_in):
    sign_in()
    response = client.get("/static/" + sorted(os.listdir("static"))[0])
    assert response.status_code == 200 and "no-store" not in response.headers.get("Cache-Control", "")


def test_receipts_the_status_poll_the_receipt_check_and_the_return_are_always_no_store(app, client, sign_in):
    sign_in()
    number = make_order(app)
    with app.test_request_context():
        order = db.session.scalars(select(Order).where(Order.number == number)).one()
        order.state = "fulfilled"
        db.session.commit()
        check_url = receipts.verification_url(order).split("://", 1)[1].split("/", 1)[1]
    urls = [f"/orders/{number}", f"/orders/{number}/receipt", "/payments/alipay/return?out_trade_no=x"]
    for url in urls:
        assert client.get(url, headers={"HX-Request": "true"}).headers["Cache-Control"] == "no-store", url
    anonymous = app.test_client().get("/" + check_url)
    assert anonymous.status_code == 200 and anonymous.headers["Cache-Control"] == "no-store"


SECRET_URLS = (
    "/receipts/RR1/TOKEN-SECRET?a=1",
    "/top-up/orders/RR2/TOPUP-SECRET",
    "/top-up/orders/RR2/TOPUP-SECRET/pay",
    "/top-up/orders/RR2/TOPUP-SECRET/receipt",
    "/r/LINK-SECRET",
    "/sandbox/alipay/bills/BILL-SECRET",
)


def test_the_access_log_keeps_no_query_string_and_no_secret_path_segment(migrated_url, tmp_path):
    log_file = tmp_path / "access.log"

    with gunicorn(migrated_url, workers=1, args=("--access-logfile", str(log_file))) as base:
        for url in ("/payments/alipay/return?sign=SIGNED-SECRET&out_trade_no=RR1", *SECRET_URLS):
            request = urllib.request.Request(base + url, headers={"Referer": base + "/receipts/RR2/REF-SECRET?q=QS"})
            with contextlib.suppress(urllib.error.HTTPError):  # 400 and 404: only the log line matters
                urllib.request.urlopen(request, timeout=10)
    logged = log_file.read_text()
    assert "GET /payments/alipay/return HTTP/1.1" in logged and "GET /receipts/RR1/*** HTTP/1.1" in logged
    for masked in ("/top-up/orders/RR2/***/pay", "/top-up/orders/RR2/*** ", "/r/***", "/sandbox/alipay/bills/***"):
        assert masked in logged
    assert "SECRET" not in logged and "QS" not in logged and "?" not in logged


def test_every_route_with_a_token_in_its_path_is_masked_in_the_log(app):
    """One rule: a URL variable named `token` is a secret, whichever route (added later too) has it."""
    app.add_url_rule("/later/<int:n>/<token>/x", "later", lambda n, token: "")
    access_log.learn_secret_routes(app.url_map)
    token_rules = [rule for rule in app.url_map.iter_rules() if "token" in rule.arguments]
    assert {"renew_links.open_link", "topup.status", "account_orders.verify_receipt", "later"} <= {
        rule.endpoint for rule in token_rules
    }
    for rule in token_rules:
        with app.test_request_context():
            path = url_for(rule.endpoint, **(_example_values(rule) | {"token": "TOK-SECRET"}))
        assert "TOK-SECRET" not in scrub(path) and "***" in scrub(path), path
        assert "TOK-SECRET" not in scrub("https://roam.example" + path + "?x=1")
    assert scrub("/orders/RR1/receipt") == "/orders/RR1/receipt"  # an order number is not a secret
    assert scrub("/plans/hk-7?region=hk") == "/plans/hk-7"


def test_the_access_logger_scrubs_the_request_line_path_and_referer(app):
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/receipts/RR1/abc?x=1",
        "PATH_INFO": "/receipts/RR1/abc",
        "QUERY_STRING": "x=1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": "https://site/payments/alipay/return?sign=zzz",
    }

    class Response:
        status, sent, headers = "200 OK", 10, ()

    from gunicorn.config import Config

    atoms = PrivateAccessLogger(Config()).atoms(Response(), {}, environ, timedelta(seconds=1))
    assert atoms["r"] == "GET /receipts/RR1/*** HTTP/1.1" and atoms["U"] == "/receipts/RR1/***"
    assert atoms["q"] == "-" and atoms["f"] == "https://site/payments/alipay/return"
    assert scrub("/plans?region=hk") == "/plans"


def test_a_database_error_never_carries_the_values_it_was_given(app):
    with app.app_context():
        db.session.add(Account(phone="+85290001111"))
        db.session.commit()
        db.session.add(Account(phone="+85290001111", session_token="TOKEN-VALUE-1234"))
        with pytest.raises(IntegrityError) as caught:
            db.session.commit()
        db.session.rollback()
    assert "TOKEN-VALUE-1234" not in str(caught.value)
    assert "hidden due to hide_parameters" in str(caught.value)


def test_a_sign_in_code_stays_in_the_outbox_in_sandbox_mode(app, client):
    post_form(client, "/login", phone="+85291234567")
    with app.app_context():
        message = db.session.scalars(select(SmsMessage)).one()
        assert message.status == "sent" and "RoamRenew code:" in message.body


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_sqlite_database_is_created_readable_by_its_owner_only(tmp_path):
    os.umask(0o022)
    path = tmp_path / "site.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "TESTING": True})
    with app.app_context():
        db.create_all()
    assert _mode(path) == 0o600
    loose = tmp_path / "old.db"
    loose.write_bytes(b"")
    loose.chmod(0o644)
    create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{loose}", "TESTING": True})
    assert _mode(loose) == 0o600


def test_the_secret_key_and_the_sandbox_keys_are_created_0600(tmp_path):
    os.umask(0o022)
    secret = config._instance_secret(str(tmp_path / "instance"))
    assert len(secret) == 64 and _mode(tmp_path / "instance" / "secret_key") == 0o600
    assert config._instance_secret(str(tmp_path / "instance")) == secret  # generated once
    assert not [name for name in os.listdir(tmp_path / "instance") if name.startswith(".")]  # no temp file left
    key_dir = tmp_path / "alipay"
    alipay_keys.sandbox_keys(str(key_dir))
    assert _mode(key_dir) == 0o700
    assert {name: _mode(key_dir / name) for name in os.listdir(key_dir)} == {
        "app_private_key.pem": 0o600,
        "sandbox_alipay_private_key.pem": 0o600,
    }
