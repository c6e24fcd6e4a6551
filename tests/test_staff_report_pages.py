"""Supervisors' report pages: the reconciliation lists a day's differences linking to the orders, the CSV
export is a download Excel opens with Chinese plan names, bad days are refused plainly, sales show a chart
and a table."""

from datetime import date

from conftest import make_order
from staff_support import make_staff, paid_order_number, staff_sign_in

from extensions import db
from rules.staff.sales import hk_today


def supervisor(app, client):
    secret = make_staff(app, "mei", "supervisor")
    assert staff_sign_in(client, "mei", secret).status_code == 303


def test_the_reconciliation_page_lists_a_planted_difference_linking_to_its_order(app, client):
    from models import Reconciliation, ReconciliationDifference

    number = paid_order_number(app)
    with app.app_context():
        row = Reconciliation(
            day=date(2026, 11, 20), status="differences", matched_count=4, ours_count=5, gateway_count=4
        )
        row.differences.append(ReconciliationDifference(kind="missing_at_gateway", order_number=number, our_cents=5800))
        db.session.add(row)
        db.session.add(Reconciliation(day=date(2026, 11, 19), status="matched", matched_count=7))
        db.session.commit()
    supervisor(app, client)
    page = client.get("/staff/reconciliation")
    assert page.status_code == 200
    assert "2026-11-20" in page.text and "2026-11-19" in page.text and "In ours, not at the gateway" in page.text
    assert f'href="/staff/orders/{number}"' in page.text and "HK$58.00" in page.text
    matched = client.get("/staff/reconciliation?day=2026-11-19").text
    assert "Everything matched." in matched and f"/staff/orders/{number}" not in matched
    assert client.get("/staff/reconciliation?day=not-a-day").status_code == 200


def test_the_orders_csv_downloads_with_a_bom_and_chinese_plan_names(app, client):

    number = make_order(app)
    supervisor(app, client)
    today = hk_today().isoformat()
    response = client.get(f"/staff/export/orders.csv?from={today}&to={today}", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="roamrenew-orders-{today}-to-{today}.csv"' in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff") and number in text and "大湾区3天" in text
    refunds = client.get(f"/staff/export/refunds.csv?from={today}&to={today}")
    assert refunds.status_code == 200 and refunds.get_data(as_text=True).startswith("\ufeff")


def test_a_bad_export_range_is_refused_plainly(app, client):
    supervisor(app, client)
    for query in ("", "?from=yesterday&to=2026-11-01", "?from=2026-11-30&to=2026-11-01"):
        response = client.get(f"/staff/export/orders.csv{query}")
        assert response.status_code == 422 and response.mimetype == "text/html"
        assert 'id="export-error"' in response.text


def test_the_sales_page_shows_the_chart_and_the_numbers(app, client):
    paid_order_number(app)
    supervisor(app, client)
    page = client.get("/staff/sales")
    assert page.status_code == 200 and "<svg" in page.text and "<table" in page.text
    assert "1 orders" in page.text or "1 order" in page.text
