"""Charts drawn on the server as inline SVG: no script, prints sharply, and a screen reader reads them.

sales_chart() is a pure function from rules.staff.sales.per_day() rows to SVG text. The <svg> is an image
(role="img") named by its <title> and described by its <desc> (totals, the best day); each day's bar
carries its own <title> with the date, the amount, the number of orders and the refunds; the y axis
is labelled with amounts and the x axis with dates.
"""

from collections.abc import Sequence

from flask_babel import gettext as _
from markupsafe import Markup, escape

from rules.text.formatting import money

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 84, 8, 16, 40
SALES_FILL, REFUND_FILL, INK, GRID = "#1f6f5c", "#b3412e", "#1b2428", "#d5dcdf"


def _day(row) -> str:
    return row.day.isoformat()


def sales_chart(rows: Sequence, currency: str = "HKD", id_prefix: str = "sales") -> Markup:
    """Bars of each day's sales (and, beside them, refunds) as an accessible inline SVG."""
    days = len(rows)
    total = sum(row.amount_cents for row in rows)
    refunded = sum(row.refunded_cents for row in rows)
    orders = sum(row.orders for row in rows)
    top = max(rows, key=lambda row: row.amount_cents, default=None)
    scale_top = max([row.amount_cents for row in rows] + [row.refunded_cents for row in rows] + [1])
    title = (
        _("Sales per day, %(first)s to %(last)s (Hong Kong time)", first=_day(rows[0]), last=_day(rows[-1]))
        if (rows)
        else _("Sales per day")
    )
    desc = _(
        "%(days)s days: %(amount)s from %(orders)s orders, %(refunded)s refunded.",
        days=days,
        amount=money(total, currency),
        orders=orders,
        refunded=money(refunded, currency),
    )
    if top is not None and top.amount_cents:
        desc += " " + _("Best day: %(day)s, %(amount)s.", day=_day(top), amount=money(top.amount_cents, currency))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(days, 1)
    bar = max(slot * 0.42, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img"'
        f' aria-labelledby="{id_prefix}-title {id_prefix}-desc" class="chart">',
        f'<title id="{id_prefix}-title">{escape(title)}</title>',
        f'<desc id="{id_prefix}-desc">{escape(desc)}</desc>',
    ]
    for fraction in (0, 0.5, 1):  # gridlines labelled with amounts
        y = TOP + plot_h * (1 - fraction)
        label = money(round(scale_top * fraction), currency)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}" aria-hidden="true"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{INK}">{escape(label)}</text>'
        )
    for index, row in enumerate(rows):
        x = LEFT + index * slot + slot * 0.08
        sales_h = plot_h * row.amount_cents / scale_top
        refund_h = plot_h * row.refunded_cents / scale_top
        label = _(
            "%(day)s: %(amount)s from %(orders)s orders, %(refunded)s refunded",
            day=_day(row),
            amount=money(row.amount_cents, currency),
            orders=row.orders,
            refunded=money(row.refunded_cents, currency),
        )
        parts.append(f'<g role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>')
        parts.append(
            f'<rect x="{x:.1f}" y="{TOP + plot_h - sales_h:.1f}" width="{bar:.1f}" height="{sales_h:.1f}"'
            f' fill="{SALES_FILL}"/>'
        )
        if row.refunded_cents:
            parts.append(
                f'<rect x="{x + bar:.1f}" y="{TOP + plot_h - refund_h:.1f}" width="{bar:.1f}"'
                f' height="{refund_h:.1f}" fill="{REFUND_FILL}"/>'
            )
        parts.append("</g>")
        if index in (0, days // 2, days - 1):  # a few dates, so the labels never overlap
            parts.append(
                f'<text x="{x + bar:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" font-size="11"'
                f' fill="{INK}" aria-hidden="true">{escape(row.day.strftime("%m-%d"))}</text>'
            )
    legend_y = HEIGHT - 8
    parts.append(
        f'<g aria-hidden="true" font-size="11" fill="{INK}">'
        f'<rect x="{LEFT}" y="{legend_y - 9}" width="10" height="10" fill="{SALES_FILL}"/>'
        f'<text x="{LEFT + 14}" y="{legend_y}">{escape(_("Sales"))}</text>'
        f'<rect x="{LEFT + 90}" y="{legend_y - 9}" width="10" height="10" fill="{REFUND_FILL}"/>'
        f'<text x="{LEFT + 104}" y="{legend_y}">{escape(_("Refunds"))}</text></g>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))
