"""Supervisors' reports: the daily reconciliation with the gateway's bill, CSV exports, sales per day."""

from flask import Response, request, stream_with_context

from blueprints.staff import bp
from rules.payments import reconciliation
from rules.staff import exports, sales
from rules.text import locales
from rules.text.formatting import typed_day
from web.charts import sales_chart, sales_legend
from web.rendering import render_page
from web.staff_auth import staff_required

RECENT_DAYS = 30


@bp.get("/reconciliation")
@staff_required("supervisor")
def reconciliation_page():
    """Recent days (matched counts, status); one day's result per payment method, each difference
    linking to its order."""
    days = reconciliation.recent(RECENT_DAYS)
    wanted = typed_day(request.args.get("day"))
    chosen = reconciliation.for_day(wanted) if wanted else next((d for d in days if d.differences), None)
    groups = reconciliation.per_provider(chosen) if chosen else []
    return render_page("staff/reconciliation.html", days=days, chosen=chosen, wanted=wanted, groups=groups)


@bp.get("/export")
@staff_required("supervisor")
def export_page():
    """Pick the Hong Kong days to export (the last 30 unless chosen); the files come from the two routes below."""
    start, end = exports.recent_range(reconciliation.hk_today(), RECENT_DAYS)
    chosen = request.args.get("from", "")[:20], request.args.get("to", "")[:20]
    return render_page("staff/export.html", start=chosen[0] or start.isoformat(), end=chosen[1] or end.isoformat())


def _csv(kind: str, make):
    start_text, end_text = request.args.get("from", "")[:20], request.args.get("to", "")[:20]
    try:
        start, end = exports.parse_range(start_text, end_text)
    except exports.ExportRefused as error:
        return render_page("staff/export.html", status=422, start=start_text, end=end_text, error=str(error))
    rows = make(start, end, locales.current())
    # content_type, not mimetype: MIMETYPE already names its charset (mimetype would add a second one).
    disposition = f'attachment; filename="{exports.filename(kind, start, end)}"'
    return Response(
        stream_with_context(rows), content_type=exports.MIMETYPE, headers={"Content-Disposition": disposition}
    )


@bp.get("/export/orders.csv")
@staff_required("supervisor")
def export_orders():
    """The orders created on the chosen days, as CSV that Excel opens intact."""
    return _csv("orders", exports.orders_csv)


@bp.get("/export/refunds.csv")
@staff_required("supervisor")
def export_refunds():
    """The refunds recorded on the chosen days, as CSV."""
    return _csv("refunds", exports.refunds_csv)


@bp.get("/sales")
@staff_required("supervisor")
def sales_page():
    """Sales and refunds of the last 30 Hong Kong days, split by payment method: a chart, and the same
    numbers as a table."""
    rows = sales.per_day(RECENT_DAYS)
    return render_page(
        "staff/sales.html",
        rows=rows,
        chart=sales_chart(rows, "HKD"),
        legend=sales_legend(rows),
        by_method=sales.method_totals(rows),
        series_names={code: sales.series_name(code) for code in sales.series_present(rows)},
        total=sum(r.amount_cents for r in rows),
        refunded=sum(r.refunded_cents for r in rows),
        count=sum(r.orders for r in rows),
    )
