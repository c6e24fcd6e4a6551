"""Every page: full page for a browser, its fragment for htmx, CSRF on every change, bad input."""

import pytest
from conftest import bind_card, csrf_token

from config import ConfigError, load
from rules.travellers import iccid

PUBLIC_PAGES = ["/", "/plans", "/plans?length=trip&region=hk_cn", "/plans/gba-7d", "/login", "/sandbox/sms"]
SIGNED_IN_PAGES = ["/cards", "/cards/{card}", "/orders", "/account"]
HTMX = {"HX-Request": "true"}


@pytest.fixture
def card_id(app, client, sign_in, plans):
    from extensions import db
    from models import Card

    sign_in()
    bind_card(app, client, "6123 4567", iccid.with_check_digit("898520012345678901"))
    with app.app_context():
        return db.session.scalars(db.select(Card)).one().id


@pytest.fixture
def pages(app, client, card_id):
    """(client, url) for every page: public ones as a visitor, the rest signed in."""
    visitor = app.test_client()
    return [(visitor, url) for url in PUBLIC_PAGES] + [(client, url.format(card=card_id)) for url in SIGNED_IN_PAGES]


def test_every_page_is_a_full_page_for_a_browser(pages):
    for client, url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.text.startswith("<!doctype html>") and "</html>" in response.text, url
        assert "HX-Request" in response.headers["Vary"], url


def test_every_page_is_a_fragment_with_its_title_for_htmx(pages):
    for client, url in pages:
        full = client.get(url).text
        response = client.get(url, headers=HTMX)
        assert response.status_code == 200, url
        assert "<html" not in response.text and "<header" not in response.text, url
        title = full.split("<title>")[1].split("</title>")[0]
        assert response.text.startswith(f"<title>{title}</title>"), url
        assert "HX-Request" in response.headers["Vary"], url
        assert response.headers["HX-Push-Url"] == url, url
        assert len(response.data) < len(full.encode()) - 1500, url  # the header and head are not sent again


def test_a_history_restore_after_a_cache_miss_gets_the_full_page(client, plans):
    response = client.get("/plans", headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert response.text.startswith("<!doctype html>")


def test_the_plan_filter_swaps_only_the_list(client, plans):
    response = client.get("/plans?length=resident&region=hk", headers={**HTMX, "HX-Target": "plan-list"})
    assert response.text.lstrip().startswith('<section id="plan-list"')
    assert "Hong Kong Monthly 30 GB" in response.text and "Day Pass" not in response.text
    assert "<form" not in response.text


def test_plans_filter_by_trip_length_and_region(client, plans):
    trips = client.get("/plans?length=trip").text
    assert "Greater Bay 7-Day" in trips and "Monthly" not in trips
    macau = client.get("/plans?region=hk_cn_mo").text
    assert "Three-Region Yearly" in macau and "Greater Bay" not in macau.split('id="plan-list"')[1]


def test_a_sale_shows_the_old_and_new_price(client, plans):
    page = client.get("/plans/gba-7d").text
    assert "<s" in page and "HK$98.00" in page and "HK$78.00" in page


def test_unknown_filters_are_ignored_and_an_unknown_plan_is_404(client, plans):
    assert client.get("/plans?length=forever&region=mars").status_code == 200
    assert client.get("/plans/no-such-plan").status_code == 404
    assert client.get("/plans/" + "x" * 5000).status_code in (404, 414)


@pytest.mark.parametrize(
    "url, data",
    [
        ("/login", {"phone": "91234567"}),
        ("/login/code", {"code": "123456"}),
        ("/login/resend", {}),
        ("/logout", {}),
        ("/cards", {"number": "61234567", "iccid": "8985200123456789017"}),
        ("/cards/{card}", {"nickname": "x"}),
        ("/cards/{card}/unbind", {}),
        ("/cards/confirm", {"code": "123456"}),
        ("/cards/confirm/resend", {}),
        ("/logout/others", {}),
    ],
)
@pytest.mark.parametrize("headers", [{}, HTMX], ids=["form", "htmx"])
def test_a_change_without_a_csrf_token_is_refused(app, client, card_id, url, data, headers):
    from extensions import db
    from models import Card

    with client.session_transaction() as session:
        session["login_phone"] = "+85291234567"
        session["pending_card"] = {"msisdn": "+85261234568", "iccid": "8985200123456789017", "nickname": ""}
    response = client.post(url.format(card=card_id), data=data, headers=headers)
    assert response.status_code == 400 and "expired" in response.text
    with app.app_context():
        assert db.session.get(Card, card_id).nickname is None and db.session.get(Card, card_id).account_id


def test_the_csrf_token_in_a_header_is_accepted_for_htmx(client, card_id):
    token = csrf_token(client.get("/cards").text)
    response = client.post(f"/cards/{card_id}", data={"nickname": "Mine"}, headers={**HTMX, "X-CSRFToken": token})
    assert response.status_code == 303


def test_a_one_megabyte_field_is_refused_and_changes_nothing(app, client, card_id):
    token = csrf_token(client.get("/cards").text)
    response = client.post(f"/cards/{card_id}", data={"csrf_token": token, "nickname": "x" * 1024 * 1024})
    assert response.status_code == 413 and "too large" in response.text


def test_language_comes_from_the_switch_then_the_browser(client, plans):
    assert 'lang="zh-Hant"' in client.get("/plans", headers={"Accept-Language": "zh-HK,zh;q=0.8"}).text
    assert 'lang="zh-Hans"' in client.get("/plans", headers={"Accept-Language": "zh-CN"}).text
    response = client.get("/lang/zh_Hant", query_string={"next": "/plans?region=hk"})
    assert response.status_code == 303 and response.headers["Location"] == "/plans?region=hk"
    assert 'lang="zh-Hant"' in client.get("/plans", headers={"Accept-Language": "en"}).text


def test_the_language_switch_never_redirects_off_site_and_knows_only_three_languages(client):
    assert client.get("/lang/en", query_string={"next": "https://evil.example/"}).headers["Location"] == "/"
    assert client.get("/lang/fr").status_code == 404


def test_security_headers_are_strict(client):
    headers = client.get("/").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


def test_outside_the_sandbox_forms_may_lead_on_to_the_alipay_gateway_and_stripe_checkout(app_with):
    app = app_with(
        SANDBOX=False, ALIPAY_APP_ID="2021000000000001", ALIPAY_GATEWAY="https://openapi.alipay.com/gateway.do"
    )
    policy = app.test_client().get("/healthz").headers["Content-Security-Policy"]
    assert "form-action 'self' https://openapi.alipay.com https://checkout.stripe.com;" in policy


def test_forms_lead_on_to_stripe_checkout_only_where_cards_are_taken(app_with):
    app = app_with(SANDBOX=False, ALIPAY_APP_ID="2021000000000001", PAYMENT_METHODS=("alipay",))
    policy = app.test_client().get("/healthz").headers["Content-Security-Policy"]
    assert "checkout.stripe.com" not in policy


def test_health_check_answers_when_the_database_does(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_production_refuses_to_start_without_a_real_secret_key(tmp_path, monkeypatch):
    monkeypatch.setenv("ROAMRENEW_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load(str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "q7Rw2mZp9Lx4Vn8Kc3Hb6Tj1Fy5Gd0Se")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://roamrenew.example")
    with pytest.raises(ConfigError, match="Alipay"):  # and never the sandbox
        load(str(tmp_path))


def test_no_sandbox_page_outside_the_sandbox(app_with):
    app = app_with(SANDBOX=False)
    assert app.test_client().get("/sandbox/sms").status_code == 404
