"""Catalogue pages are cached briefly for visitors without a session, and never anything personal."""

import time
from datetime import timedelta

from sqlalchemy import select

from extensions import db
from models import Plan, utcnow
from rules.offers import catalogue_version


def reprice(app, code, cents):
    """A price change, counted in the catalogue version as every change to plans is (rules.offers.catalogue_admin)."""
    with app.app_context():
        db.session.scalars(select(Plan).where(Plan.code == code)).one().price_cents = cents
        catalogue_version.bump()
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


def test_a_signed_in_traveller_sees_a_sale_the_moment_it_starts_though_the_plan_list_is_kept(
    app, client, sign_in, plans
):
    sign_in()
    with app.app_context():
        plan = db.session.scalars(select(Plan).where(Plan.code == "hk-1d")).one()
        plan.sale_price_cents, plan.sale_starts_at, plan.sale_ends_at = 1500, utcnow() + timedelta(seconds=1), None
        catalogue_version.bump()
        db.session.commit()
    assert "HK$15.00" not in client.get("/plans").text
    assert "HK$15.00" not in client.get("/plans").text  # the kept list, until the sale starts
    time.sleep(1.1)
    assert "HK$15.00" in client.get("/plans").text
    assert 'lang="zh-Hant"' in client.get("/plans", headers={"Accept-Language": "zh-HK"}).text


def test_a_visitor_sees_a_sale_on_a_plans_page_the_moment_it_starts(app, client, plans):
    assert "HK$18.00" in client.get("/plans/hk-1d").text  # kept for PAGE_CACHE_SECONDS (30 s)
    with app.app_context():
        plan = db.session.scalars(select(Plan).where(Plan.code == "hk-1d")).one()
        plan.sale_price_cents, plan.sale_starts_at, plan.sale_ends_at = 1500, utcnow() + timedelta(seconds=1), None
        db.session.commit()  # no catalogue version bump: only the sale's own start may end the kept copy
    app.extensions["page_cache"].clear()
    assert "HK$15.00" not in client.get("/plans/hk-1d").text
    assert "HK$15.00" not in client.get("/plans/hk-1d").text  # kept, until the sale starts
    time.sleep(1.1)
    assert "HK$15.00" in client.get("/plans/hk-1d").text
