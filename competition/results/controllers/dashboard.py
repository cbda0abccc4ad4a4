"""The competition dashboard (赛事看板) for the organizer — check-in per session, scoring progress
per trade, a trade's score distribution, awards per delegation and industry, each chart with the
table behind it one click away — and the hall board (场馆大屏), public, large type, refreshing
itself."""

from __future__ import annotations

from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Template

from competition import services
from competition.i18n import N_, gettext
from competition.results import dashboard
from competition.stages import STAGE_LABELS
from competition.tables import Role
from competition.web.access import PUBLIC, require_competition, roles
from competition.web.charts import Series, column_chart, stacked_bar_chart
from competition.web.forms import parse_int
from competition.web.menus import SCORING, MenuItem, add_competition_menu_item
from competition.web.templating import hundredths, page

add_competition_menu_item(MenuItem("progress", "/progress", N_("Competition dashboard")), SCORING)

HALL_REFRESH_SECONDS = 30
DONE, LEFT = "#2e8b57", "#d5dbe5"
PRIZES = ("#c9a227", "#9aa5b1", "#b87333")


@get("/org/competitions/{competition_id:int}/progress", opt=roles(Role.organizer),
     include_in_schema=False)  # fmt: skip
async def competition_dashboard(request: Request, competition_id: FromPath[int]) -> Template:
    require_competition(request.user, competition_id, Role.organizer)
    competition = await services.get_competition(competition_id)
    sessions = await dashboard.check_in_by_session(competition_id)
    trades = await dashboard.scoring_by_trade(competition_id)
    with_totals = await dashboard.trades_with_totals(competition_id)
    chosen = parse_int(request.query_params.get("trade"), minimum=1)
    if chosen not in {t[0] for t in with_totals}:
        chosen = with_totals[0][0] if with_totals else None
    spread = await dashboard.distribution(chosen) if chosen else None
    awards = await dashboard.awards_by(competition_id)
    prizes = [Series(gettext("First prize"), PRIZES[0]), Series(gettext("Second prize"), PRIZES[1]),
              Series(gettext("Third prize"), PRIZES[2])]  # fmt: skip
    progress = [Series(gettext("Done"), DONE), Series(gettext("Still to do"), LEFT)]
    empty = gettext("Nothing yet.")
    seated = [s for s in sessions if s.expected]
    marking = [t for t in trades if t.cells_expected]
    chosen_name = next((f"{t[1]} {t[2]}" for t in with_totals if t[0] == chosen), "")
    charts = {
        "checkin": stacked_bar_chart(
            [(f"{s.trade_name} {s.name}", (s.checked_in, s.expected - s.checked_in))
             for s in seated],
            progress, title=gettext("Check-in per session"), empty=empty,
        ),
        "scoring": stacked_bar_chart(
            [(f"{t.code} {t.name}", (t.cells_entered, t.cells_expected - t.cells_entered))
             for t in marking],
            progress, title=gettext("Marks entered per trade"), empty=empty,
        ),
        "distribution": column_chart(
            spread.bins if spread else [],
            title=gettext("Score distribution of {trade}", trade=chosen_name),
            desc=gettext("{n} contestants, in bars of 10 points", n=spread.count if spread else 0),
            empty=empty,
        ),
        "delegations": stacked_bar_chart(
            [(row[0], tuple(row[1:4])) for row in awards["delegation"]],
            prizes, title=gettext("Awards per delegation"), empty=empty,
        ),
        "industries": stacked_bar_chart(
            [(row[0], tuple(row[1:4])) for row in awards["industry"]],
            prizes, title=gettext("Awards per industry"), empty=empty,
        ),
    }  # fmt: skip
    return page(
        "competition/results/dashboard.html",
        competition=competition,
        sessions=sessions,
        trades=trades,
        with_totals=with_totals,
        chosen=chosen,
        spread=spread,
        awards=awards,
        charts=charts,
        stage_labels=STAGE_LABELS,
        hundredths=hundredths,
    )


@get("/competitions/{competition_id:int}/board", opt=PUBLIC, include_in_schema=False)
async def hall_board(competition_id: FromPath[int]) -> Template:
    """For a screen in the hall: no names, no scores — what runs, what is signed, what is out."""
    competition = await services.get_competition(competition_id)
    board = await dashboard.hall_board(competition_id)
    return page(
        "competition/results/hall_board.html",
        competition=competition,
        board=board,
        refresh=HALL_REFRESH_SECONDS,
        stage_labels=STAGE_LABELS,
    )


ROUTES = [competition_dashboard, hall_board]
