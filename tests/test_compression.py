"""What the server sends: pages compressed by Accept-Encoding, static files under content-hashed
names, precompressed and cached for a year, and the page cache keeping both."""

import gzip
import re

import brotli
import pytest
from conftest import make_order
from sqlalchemy import select

from extensions import db
from models import Plan
from web import static_files

BROWSER = {"Accept-Encoding": "gzip, deflate, br"}
STATIC_LINK = re.compile(r'(?:href|src)="(/static/[^"]+)"')


def decoded(response) -> str:
    encoding = response.headers.get("Content-Encoding")
    data = response.get_data()
    if encoding == "br":
        data = brotli.decompress(data)
    elif encoding == "gzip":
        data = gzip.decompress(data)
    return data.decode()


def vary(response) -> set[str]:
    return {part.strip().lower() for part in response.headers.get("Vary", "").split(",")}


def test_a_page_is_sent_with_brotli_to_a_browser_and_reads_the_same(client, plans):
    plain = client.get("/plans", headers={"Accept-Encoding": "identity"})
    packed = client.get("/plans", headers=BROWSER)
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "br"
    assert int(packed.headers["Content-Length"]) == len(packed.get_data()) < len(plain.get_data()) / 3
    assert decoded(packed) == plain.text
    assert {"accept-encoding", "hx-request"} <= vary(packed) and {"accept-encoding", "hx-request"} <= vary(plain)
    assert "frame-ancestors 'none'" in packed.headers["Content-Security-Policy"]


def test_gzip_when_the_client_takes_only_gzip(client, plans):
    response = client.get("/login", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip" and "Sign in" in decoded(response)


def test_a_signed_in_page_and_an_htmx_swap_are_compressed_too(client, sign_in, plans):
    sign_in()
    page = client.get("/orders", headers=BROWSER)
    assert page.headers["Content-Encoding"] == "br" and "Sign out" in decoded(page)
    swap = client.get("/plans?length=trip", headers={**BROWSER, "HX-Request": "true", "HX-Target": "plan-list"})
    assert swap.headers["Content-Encoding"] == "br" and "<html" not in decoded(swap)
    assert "hx-request" in vary(swap) and "accept-encoding" in vary(swap)


def reprice(app, code, cents):
    with app.app_context():
        db.session.scalars(select(Plan).where(Plan.code == code)).one().price_cents = cents
        db.session.commit()


def test_a_cached_visitor_page_is_sent_compressed_for_each_encoding_and_plain_to_others(app, client, plans):
    first = client.get("/plans/hk-1d", headers=BROWSER)
    reprice(app, "hk-1d", 2000)  # from here on, only a cached page still says HK$18.00
    hit = client.get("/plans/hk-1d", headers=BROWSER)
    assert hit.headers["Content-Encoding"] == "br" and hit.get_data() == first.get_data()
    assert "HK$18.00" in decoded(hit)
    assert {"accept-encoding", "hx-request"} <= vary(hit) and "frame-ancestors" in hit.headers[
        "Content-Security-Policy"
    ]
    assert "Set-Cookie" not in hit.headers
    for _ in range(2):  # a miss, then a hit: never brotli bytes to a client that did not ask for them
        gzipped = client.get("/plans/hk-1d", headers={"Accept-Encoding": "gzip"})
        assert gzipped.headers["Content-Encoding"] == "gzip" and "HK$20.00" in decoded(gzipped)
        plain = client.get("/plans/hk-1d")
        assert "Content-Encoding" not in plain.headers and "HK$20.00" in plain.text
        assert plain.headers["Content-Type"].startswith("text/html")


def test_pages_link_static_files_by_content_hashed_names(app, client, plans):
    links = STATIC_LINK.findall(client.get("/plans").text)
    names = {link.rsplit("/", 1)[1] for link in links}
    manifest = app.extensions["static_manifest"]
    assert {manifest["app.css"], manifest["htmx-2.0.11.min.js"], manifest["favicon.svg"]} <= names
    assert all(re.search(r"\.[0-9a-f]{12}\.(css|js|svg)$", link) for link in links)


def test_a_hashed_static_file_is_precompressed_and_cached_a_year_as_immutable(app, client):
    url = "/static/" + app.extensions["static_manifest"]["app.css"]
    with open(app.static_folder + "/app.css", "rb") as source:
        original = source.read()
    br = client.get(url, headers=BROWSER)
    assert br.status_code == 200 and br.headers["Content-Encoding"] == "br"
    assert brotli.decompress(br.get_data()) == original
    assert br.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "accept-encoding" in vary(br) and br.headers["Content-Type"].startswith("text/css")
    assert br.headers["X-Content-Type-Options"] == "nosniff"
    gz = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert gz.headers["Content-Encoding"] == "gzip" and gzip.decompress(gz.get_data()) == original
    plain = client.get(url)
    assert "Content-Encoding" not in plain.headers and plain.get_data() == original
    again = client.get(url, headers={**BROWSER, "If-None-Match": br.headers["ETag"]})
    assert again.status_code == 304 and not again.get_data()


def test_a_static_file_under_its_plain_name_is_cached_only_briefly(client):
    response = client.get("/static/app.css", headers=BROWSER)
    assert response.status_code == 200 and response.headers["Content-Encoding"] == "br"
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert client.get("/static/nothing-here.css").status_code == 404


def test_a_changed_static_file_gets_a_new_name_and_the_old_one_stays_a_while(tmp_path):
    source, target = tmp_path / "static", tmp_path / "build"
    source.mkdir()
    (source / "site.css").write_text("body { color: teal; }\n" * 50)
    first = static_files.build(str(source), str(target))
    assert static_files.build(str(source), str(target)) == first  # the same content, the same name
    (source / "site.css").write_text("body { color: navy; }\n" * 50)
    second = static_files.build(str(source), str(target))
    assert second["site.css"] != first["site.css"]
    for name in (second["site.css"], second["site.css"] + ".br", second["site.css"] + ".gz", first["site.css"]):
        assert (target / name).exists(), name
    assert gzip.decompress((target / second["site.css"]).with_suffix(".css.gz").read_bytes()).startswith(b"body")
    assert (target / "site.css").read_text().startswith("body { color: navy")


def test_no_query_count_header_unless_a_benchmark_asks(app_with, plans):
    assert "X-Query-Count" not in app_with().test_client().get("/plans").headers
    counted = app_with(QUERY_COUNT_HEADER=True).test_client().get("/plans")
    assert int(counted.headers["X-Query-Count"]) >= 1


@pytest.mark.parametrize("locale, state", [("zh_Hant", "等待付款"), ("en", "Waiting for payment")])
def test_the_orders_page_names_states_in_the_travellers_language(app, client, sign_in, locale, state):
    make_order(app)
    sign_in()
    client.set_cookie("lang", locale)
    page = client.get("/orders").text
    assert state in page and page.count(state) >= 1


def test_relative_urls_in_templates_follow_the_current_blueprint(app):
    from flask import render_template_string

    with app.test_request_context("/plans"):
        app.preprocess_request()
        in_plans = render_template_string("{{ url_for('.index') }}")
    with app.test_request_context("/orders"):
        in_orders = render_template_string("{{ url_for('.index') }}")
    assert (in_plans, in_orders) == ("/plans", "/orders")
