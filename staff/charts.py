"""The dashboard's charts as SVG documents drawn on the server with pygal (SPEC §8).

Each chart is served as its own image (`<img>`), so the page's Content-Security-Policy never meets
pygal's inline `<style>`; the image's own response carries a policy of its own (see the view).
pygal's SVG is made self-contained: no script (its tooltips need one, and the config it writes
is one), no comment with a link, nothing fetched. The figures come in already computed by the
reports; these functions only draw them, and the page's tables show the same figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pygal
from django.utils.translation import gettext as _
from pygal.etree import etree
from pygal.style import Style

# Our stylesheet's colours (4.5:1 on white); every series is also named in the legend.
GREEN, RED, GREY, BLUE, AMBER = "#0b6b3a", "#a3111e", "#5b6369", "#0b5cad", "#8a5a00"
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
SVG_NS = "http://www.w3.org/2000/svg"


def _style(colors: Sequence[str]) -> Style:
    return Style(
        background="#ffffff",
        plot_background="#ffffff",
        foreground="#1d2125",
        foreground_strong="#1d2125",
        foreground_subtle="#505a5f",
        opacity="1",
        opacity_hover="1",
        transition="none",
        colors=tuple(colors),
        font_family=FONT,
        title_font_size=17,
        legend_font_size=15,
        label_font_size=14,
        major_label_font_size=14,
        value_font_size=14,
        value_colors=("#ffffff",) * len(colors),
    )


def _self_contained(root: Any) -> Any:
    """pygal's xml filter: no script (its config, and the tooltips only a script would show), no comment
    (they carry its web address), no style attribute (the image's policy allows just its one stylesheet)."""
    for parent in list(root.iter()):
        for child in list(parent):
            # A comment or processing instruction has no string tag.
            comment = not isinstance(child.tag, str)
            if comment or child.tag.rsplit("}", 1)[-1] == "script" or "tooltip-overlay" in child.get("class", ""):
                parent.remove(child)
    for element in root.iter():
        element.attrib.pop("style", None)
    return root


def stylesheets(svg: str) -> list[str]:
    """The text of each `<style>` element of a chart: what the image's policy allows, by hash."""
    return [element.text or "" for element in etree.fromstring(svg).iter(f"{{{SVG_NS}}}style")]


def _render(chart: Any) -> str:
    chart.add_xml_filter(_self_contained)
    return str(chart.render(is_unicode=True))


def _config(title: str, colors: Sequence[str], **extra: Any) -> dict[str, Any]:
    return {
        "title": title,
        "style": _style(colors),
        "js": [],
        "disable_xml_declaration": True,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": len(colors),
        "print_values": True,
        "value_formatter": lambda value: f"{value:g}" if value else "",
        "show_minor_y_labels": True,
        "min_scale": 1,
        "max_scale": 6,
        "width": 640,
        "height": 380,
        "margin": 16,
        "no_data_text": _("Nothing in this period"),
        # Our labels are short; pygal's guess at their width cuts them ("2026-W…", "Closed unansw…").
        "truncate_label": -1,
        "truncate_legend": -1,
        **extra,
    }


def _integers_axis(total: int) -> dict[str, Any]:
    top = max(total, 1)
    step = max(1, -(-top // 6))
    return {"y_labels": list(range(0, top + step, step)), "range": (0, top + step if top % step else top)}


def sla_chart(rows: Sequence[dict[str, Any]], *, title: str) -> str:
    """One bar per ISO week (its number as the label): the obligations opened, split into met, breached,
    pending and closed unanswered."""
    # Week numbers only ("W49"; the year is in the table): one label in four once there are many weeks.
    sparse = {"x_labels_major_every": 4, "show_minor_x_labels": False} if len(rows) > 13 else {}
    chart = pygal.StackedBar(
        **_config(
            title,
            (GREEN, RED, GREY, AMBER),
            legend_at_bottom_columns=2,  # four names do not fit on one line
            **sparse,
            **_integers_axis(max((r["opened"] for r in rows), default=0)),
        )
    )
    chart.x_labels = [row["week"].split("-")[-1] for row in rows]
    chart.add(_("Met"), [row["met"] for row in rows])
    chart.add(_("Breached"), [row["breached"] for row in rows])
    chart.add(_("Pending"), [row["pending"] for row in rows])
    chart.add(_("Closed unanswered"), [row["closed_unanswered"] for row in rows])
    return _render(chart)


def funnel_chart(steps: Sequence[dict[str, Any]], *, title: str) -> str:
    """One bar per state, in the order of the funnel, with its count."""
    chart = pygal.HorizontalBar(
        **_config(title, (BLUE,), show_legend=False, **_integers_axis(max((s["count"] for s in steps), default=0)))
    )
    # Horizontal bars are drawn bottom-up: reversed, the first state reads first at the top.
    chart.x_labels = [step["label"] for step in reversed(steps)]
    chart.add(_("Applications"), [step["count"] for step in reversed(steps)])
    return _render(chart)


def follow_up_chart(rows: Sequence[dict[str, Any]], *, title: str) -> str:
    """One bar per review point: the reviews due, split into answered, missed, pending."""
    chart = pygal.StackedBar(
        **_config(title, (GREEN, RED, GREY), **_integers_axis(max((r["due"] for r in rows), default=0)))
    )
    chart.x_labels = [row["label"] for row in rows]
    chart.add(_("Answered"), [row["answered"] for row in rows])
    chart.add(_("Missed"), [row["missed"] for row in rows])
    chart.add(_("Pending"), [row["pending"] for row in rows])
    return _render(chart)
