"""Charts drawn on the server as inline SVG: no script, prints sharply, and a screen reader reads them.

sales_chart() is a pure function from rules.staff.sales.per_day() rows to SVG text. The <svg> is an image
(role="img") named by its <title> and described by its <desc> (totals, the best day); each day's bar is
stacked by payment method (a colour each, named in sales_legend() under it, never by colour alone) and carries its
own <title> with the date, the amount, the number of orders, the refunds and the amount per method; the
y axis is labelled with amounts and the x axis with dates.
"""

from collections.abc import Sequence

from flask_babel import gettext as _
from markupsafe import Markup, escape

from rules.staff.sales import series_name, series_present
from rules.text.formatting import money

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 84, 8, 16, 24
SALES_FILL, REFUND_FILL, INK, GRID = "#1f6f5c", "#b3412e", "#1b2428", "#d5dcdf"
# One fill per sales series (rules.staff.sales.SERIES), apart from each other and from the refunds' red.
METHOD_FILLS = {"alipay": "#1d5fa8", "wechat": "#1f6f5c", "stripe": "#6b4bb3", "counter": "#8a6414"}


def _fill(series: str) -> str:
    return METHOD_FILLS.get(series, SALES_FILL)


def sales_legend(rows: Sequence) -> Markup:
    """The chart's key as HTML under it, at the page's own text size (the SVG is scaled down on a phone):
    a swatch and a name per method with sales, then refunds."""
    series = series_present(rows)
    items = [(series_name(name), _fill(name)) for name in series] or [(_("Sales"), SALES_FILL)]
    parts = ['<ul class="chart-legend">']
    for name, fill in [*items, (_("Refunds"), REFUND_FILL)]:
        parts.append(
            f'<li><svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" fill="{fill}"/></svg>'
            f"{escape(name)}</li>"
        )
    parts.append("</ul>")
    return Markup("".join(parts))


def _stack(row, series: list[str]) -> list[tuple[str, int]]:
    """(fill, cents) from the bottom up: per method, or one bar for a row not split by method."""
    if not row.by_method:
        return [(SALES_FILL, row.amount_cents)]
    return [(_fill(name), row.by_method.get(name, 0)) for name in series if row.by_method.get(name, 0)]


def _split_text(row, series: list[str], currency: str) -> str:
    if len(series) < 2:
        return ""
    shares = [
        f"{series_name(name)} {money(row.by_method[name], currency)}" for name in series if row.by_method.get(name)
    ]
    return f" ({', '.join(shares)})" if shares else ""


def _day(row) -> str:
    return row.day.isoformat()


def sales_chart(rows: Sequence, currency: str = "HKD", id_prefix: str = "sales") -> Markup:
    """Bars of each day's sales stacked by payment method (and, beside them, refunds) as an accessible inline SVG."""
    days = len(rows)
    series = series_present(rows)
    scale_top = max([row.amount_cents for row in rows] + [row.refunded_cents for row in rows] + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img"'
        f' aria-labelledby="{id_prefix}-title {id_prefix}-desc" class="chart">',
        f'<title id="{id_prefix}-title">{escape(_title(rows))}</title>',
        f'<desc id="{id_prefix}-desc">{escape(_description(rows, currency))}</desc>',
    ]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    for fraction in (0, 0.5, 1):  # gridlines labelled with amounts
        y = TOP + plot_h * (1 - fraction)
        label = money(round(scale_top * fraction), currency)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}" aria-hidden="true"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{INK}">{escape(label)}</text>'
        )
    slot = plot_w / max(days, 1)
    bar = max(slot * 0.42, 1)
    for index, row in enumerate(rows):
        x = LEFT + index * slot + slot * 0.08
        parts.append(_day_bar(row, series, currency, x, bar, plot_h / scale_top))
        if index in (0, days // 2, days - 1):  # a few dates, so the labels never overlap
            parts.append(
                f'<text x="{x + bar:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" font-size="11"'
                f' fill="{INK}" aria-hidden="true">{escape(row.day.strftime("%m-%d"))}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def _title(rows: Sequence) -> str:
    if not rows:
        return _("Sales per day")
    return _("Sales per day, %(first)s to %(last)s (Hong Kong time)", first=_day(rows[0]), last=_day(rows[-1]))


def _description(rows: Sequence, currency: str) -> str:
    """The totals in words, the best day, and each method's share when there are several."""
    desc = _(
        "%(days)s days: %(amount)s from %(orders)s orders, %(refunded)s refunded.",
        days=len(rows),
        amount=money(sum(row.amount_cents for row in rows), currency),
        orders=sum(row.orders for row in rows),
        refunded=money(sum(row.refunded_cents for row in rows), currency),
    )
    series = series_present(rows)
    if len(series) > 1:
        shares = [
            f"{series_name(name)} {money(sum(row.by_method.get(name, 0) for row in rows), currency)}" for name in series
        ]
        desc += " " + _("By payment method: %(shares)s.", shares=", ".join(shares))
    top = max(rows, key=lambda row: row.amount_cents, default=None)
    if top is not None and top.amount_cents:
        desc += " " + _("Best day: %(day)s, %(amount)s.", day=_day(top), amount=money(top.amount_cents, currency))
    return desc


def _day_bar(row, series: list[str], currency: str, x: float, bar: float, per_cent: float) -> str:
    """One day: its sales stacked by method, its refunds beside them, named in words by its <title>."""
    label = _(
        "%(day)s: %(amount)s from %(orders)s orders, %(refunded)s refunded",
        day=_day(row),
        amount=money(row.amount_cents, currency),
        orders=row.orders,
        refunded=money(row.refunded_cents, currency),
    ) + _split_text(row, series, currency)
    parts = [f'<g role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>']
    base = float(HEIGHT - BOTTOM)  # the x axis
    bottom = base
    for fill, cents in _stack(row, series):
        height = cents * per_cent
        bottom -= height
        parts.append(f'<rect x="{x:.1f}" y="{bottom:.1f}" width="{bar:.1f}" height="{height:.1f}" fill="{fill}"/>')
    if row.refunded_cents:
        height = row.refunded_cents * per_cent
        parts.append(
            f'<rect x="{x + bar:.1f}" y="{base - height:.1f}" width="{bar:.1f}"'
            f' height="{height:.1f}" fill="{REFUND_FILL}"/>'
        )
    parts.append("</g>")
    return "".join(parts)
