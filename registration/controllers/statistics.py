"""What the registration dashboard and the quota matrix pages show, for the organizer and, read
only, for the supervisor: the same figures, built once here. The charts are drawn on the server
(competition/web/charts.py) in the reader's language.
"""

from __future__ import annotations

from typing import Any

from competition import catalogue
from competition.i18n import gettext
from competition.web.charts import Series, bar_chart, column_chart, stacked_bar_chart
from competition.web.templating import localized
from registration import dashboard, quota_usage
from registration.controllers.delegation import int_or_none, page_number, query_string

TOP_TRADES = 15  # trades in the chart; the table behind it has every trade


async def dashboard_context(competition_id: int) -> dict[str, Any]:
    data = await dashboard.dashboard(competition_id)
    series = [
        Series(gettext(label), dashboard.COLORS[status]) for status, label in dashboard.LEVELS
    ]
    empty = gettext("No entries yet.")
    levels = dashboard.level_rows(data)
    top_trades = dashboard.top(data.by_trade, TOP_TRADES)

    def stacked(groups: list[dashboard.Group], title: str) -> Any:
        rows = [(localized(g.name, g.name_en), g.values()) for g in groups if g.total]
        return stacked_bar_chart(rows, series, title=title, empty=empty)

    days = [(day.strftime("%m-%d"), n) for day, n in data.by_day]
    return {
        "data": data,
        "levels": levels,
        "statuses": dashboard.STATUSES,
        "level_labels": dict(dashboard.LEVELS),
        "colors": dashboard.COLORS,
        "top_trades": top_trades,
        "days": [
            (day, n, running) for (day, n), running in zip(data.by_day, _running(data), strict=True)
        ],
        "charts": {
            "levels": bar_chart(
                [(gettext(r["label"]), r["n"]) for r in levels],
                title=gettext("Entries by review level"),
                colors=[dashboard.COLORS[r["status"]] for r in levels],
                empty=empty,
            ),
            "delegations": stacked(data.by_delegation, gettext("Entries by delegation")),
            "industries": stacked(data.by_industry, gettext("Entries by industry")),
            "trades": stacked(
                top_trades, gettext("The {n} trades with most entries", n=len(top_trades))
            ),
            "days": column_chart(
                days,
                title=gettext("Registrations per day"),
                desc=gettext(
                    "{n} entries registered over {days} days", n=data.total, days=len(days)
                ),
                empty=empty,
            ),
        },
    }


def _running(data: dashboard.Dashboard) -> list[int]:
    total, out = data.before_days, []
    for _day, n in data.by_day:
        total += n
        out.append(total)
    return out


async def quota_context(
    competition_id: int, industry: str, delegation: str, only: str, page_text: str
) -> dict[str, Any]:
    shown = {
        "industry": industry if int_or_none(industry) is not None else "",
        "delegation": delegation if int_or_none(delegation) is not None else "",
        "only": only if only in quota_usage.ONLY else "",
    }
    matrix = await quota_usage.quota_matrix(
        competition_id,
        industry_id=int_or_none(shown["industry"]),
        delegation_id=int_or_none(shown["delegation"]),
        only=shown["only"],
        page=page_number(page_text),
    )
    return {
        "matrix": matrix,
        "filters": shown,
        "query": query_string(shown),
        "industries": await catalogue.industries(competition_id),
        "delegations": await catalogue.delegations(competition_id),
    }
