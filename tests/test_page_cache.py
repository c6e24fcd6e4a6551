"""Catalogue pages are cached briefly for visitors without a session, and never anything personal."""

from sqlalchemy import select

from extensions import db
from models import Plan


def reprice(app, code, cents):
    with app.app_context():
        db.session.scalars(select(Plan).where(Plan.code == code)).one().price_cents = cents
        db.session.commit()


def test_a_visitor_gets_the_cached_page_until_it_expires(app, client, plans):
    assert "HK$18.00" in client.get("/plans/hk-1d").text
    reprice(app, "hk-1d", 2000)
    assert "HK$18.00" in client.get("/plans/hk-1d").text  # within 30 s: the cached page
    app.config["PAGE_CACHE_SECONDS"] = 0
    assert "HK$20.00" in client.get("/plans/hk-1d").text


def test_a_signed_in_traveller_always_gets_a_fresh_page_and_never_a_visitors_one(app, client, sign_in, plans):
    visitor = app.test_client()
    assert "Sign in" in visitor.get("/plans").text
    sign_in()
    reprice(app, "hk-1d", 2000)
    page = client.get("/plans").text
    assert "HK$20.00" in page and "Sign out" in page and "X-CSRFToken" in page
    assert "Sign out" not in visitor.get("/plans").text  # nor is the signed-in page kept for visitors


def test_each_language_and_each_rendering_is_cached_apart(client, plans):
    assert 'lang="zh-Hant"' in client.get("/plans", headers={"Accept-Language": "zh-HK"}).text
    assert 'lang="en"' in client.get("/plans", headers={"Accept-Language": "en"}).text
    fragment = client.get("/plans", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and fragment.headers["HX-Push-Url"] == "/plans"
    assert "<html" in client.get("/plans").text


def test_a_cached_page_still_carries_the_security_headers_and_vary(client, plans):
    client.get("/plans")
    again = client.get("/plans")
    assert "HX-Request" in again.headers["Vary"] and "frame-ancestors" in again.headers["Content-Security-Policy"]
    assert "Set-Cookie" not in again.headers
