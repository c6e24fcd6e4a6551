"""The admin and report pages in plain words: a region picked from a list, the date format shown before
any mistake, "Offered" rather than "on sale" (a sale is a lower price), payment methods named, a 403 that
says what is missing, a staff 500 that does not talk about charges, and exports that work as first shown."""

import csv
import io

import pytest
from conftest import make_order
from staff_support import make_staff, paid_order_number, staff_sign_in
from test_counter_payments import ICCID, counter_location, take_payment  # noqa: F401  (autouse: the counter's location)

from rules.staff import exports


def signed_in(app, client, role):
    secret = make_staff(app, "someone", role)
    assert staff_sign_in(client, "someone", secret).status_code == 303


def test_the_plan_form_picks_the_region_and_currency_and_shows_the_date_format_first(app, client):
    make_order(app)  # the demo catalogue
    signed_in(app, client, "admin")
    page = client.get("/staff/admin/plans/new").text
    assert '<select id="f-region" name="region">' in page and 'value="hk_cn">Hong Kong + mainland China<' in page
    assert '<input id="f-region"' not in page
    assert '<select id="f-currency" name="currency">' in page and 'value="HKD" selected' in page
    assert 'id="f-sale_starts_at-hint">Like 2026-12-01 09:00.<' in page  # before any mistake
    assert 'type="number"' in page and 'id="f-days"' in page
    edit = client.get("/staff/admin/plans/gba-3d").text
    assert 'value="hk_cn" selected>' in edit


def test_offered_or_not_never_on_sale(app, client):
    make_order(app)
    signed_in(app, client, "admin")
    listed = client.get("/staff/admin/plans").text
    assert "Offered" in listed and "Stop offering" in listed
    assert "on sale" not in listed.lower() and "off sale" not in listed.lower()


def test_the_order_page_names_the_payment_method(app, client, plans):
    counter, _, _ = take_payment(app, iccid_text=ICCID, method="cash")
    alipay = paid_order_number(app, phone="+85291230009", msisdn="+85261230009")
    signed_in(app, client, "agent")
    assert "<dt>Paid with</dt><dd>Cash</dd>" in client.get(f"/staff/orders/{counter}").text
    assert "<dt>Paid with</dt><dd>Alipay</dd>" in client.get(f"/staff/orders/{alipay}").text


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}])
def test_a_page_above_ones_role_says_permission_is_missing(app, client, headers):
    signed_in(app, client, "agent")
    response = client.get("/staff/audit", headers=headers)
    assert response.status_code == 403
    assert "You do not have permission" in response.text and "That did not work" not in response.text


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}])
def test_a_failure_on_a_staff_page_does_not_talk_about_charges(app_with, monkeypatch, headers):
    from rules.staff import staff_queues

    app = app_with(PROPAGATE_EXCEPTIONS=False)
    client = app.test_client()
    signed_in(app, client, "agent")
    monkeypatch.setattr(staff_queues, "all_queues", lambda: 1 / 0)
    response = client.get("/staff", headers=headers)
    assert response.status_code == 500
    assert "may have been saved" in response.text and "charged" not in response.text
    assert ("<html" in response.text) == (not headers)  # htmx swaps in the block alone


def test_the_export_page_offers_the_last_30_days_so_its_buttons_work_at_once(app, client):
    from rules.payments import reconciliation

    number = paid_order_number(app)
    signed_in(app, client, "supervisor")
    page = client.get("/staff/export").text
    today = reconciliation.hk_today()
    start, end = exports.recent_range(today, 30)
    assert f'name="from" type="date" value="{start.isoformat()}"' in page
    assert f'name="to" type="date" value="{today.isoformat()}"' in page and end == today
    download = client.get("/staff/export/orders.csv", query_string={"from": start.isoformat(), "to": end.isoformat()})
    assert download.status_code == 200
    rows = list(csv.reader(io.StringIO(download.text.removeprefix(exports.BOM), newline="")))
    assert [row[0] for row in rows[1:]] == [number]


def test_the_sales_table_heads_each_row_with_its_day(app, client):
    paid_order_number(app)
    signed_in(app, client, "supervisor")
    page = client.get("/staff/sales").text
    assert '<th scope="col">Day</th>' in page and '<th scope="row" class="day">' in page
    assert '<td class="num">20' not in page  # a day is no figure to right-align under a left-aligned head


def test_roles_are_named_in_the_staff_language(app, client):
    from rules.text import locales

    make_staff(app, "kit", "agent")
    signed_in(app, client, "admin")
    client.set_cookie(locales.COOKIE, "zh_Hant")
    page = client.get("/staff/admin/staff").text
    assert '<option value="supervisor">主管</option>' in page and '<span class="tag">客服</span>' in page
