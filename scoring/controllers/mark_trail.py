"""The supervisor's marks trail (评分记录, 监督仲裁): every change to every mark of one trade —
before or after the lock — read only, a page at a time, and exported whole as a workbook.

Codes only: the trail names contestants by their draw codes (and the judges' second-layer code
where there is one), never by name, whatever the trade's stage.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlencode

import anyio
from litestar import Request, Response, get
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from competition import services
from competition import spreadsheets as kit
from competition.clock import format_datetime
from competition.errors import NotFound, ValidationFailed
from competition.i18n import N_, gettext, render
from competition.spreadsheets import XLSX_MEDIA_TYPE
from competition.spreadsheets.workbooks import HEAD
from competition.stages import STAGE_LABELS
from competition.tables import Role
from competition.web.access import require_competition, roles
from competition.web.downloads import attachment
from competition.web.forms import parse_int
from competition.web.menus import MenuItem, add_supervisor_menu_item
from competition.web.templating import page
from scoring import stages
from scoring.sheets import trail
from scoring.tables import MarkChangeKind

add_supervisor_menu_item(MenuItem("marks", "/marks", N_("Marks trail")))

BASE = "/supervisor/competitions/{competition_id:int}/marks"
KIND_LABELS = {
    MarkChangeKind.tablet.value: N_("Tablet"),
    MarkChangeKind.paper.value: N_("Paper sheet"),
    MarkChangeKind.remark.value: N_("Re-mark"),
    MarkChangeKind.locked.value: N_("After the lock"),
}
COLUMNS = (
    N_("When"),
    N_("Who"),
    N_("Device"),
    N_("How"),
    N_("Code"),
    N_("Judge code"),
    N_("Aspect"),
    N_("Judge"),
    N_("Old value"),
    N_("New value"),
    N_("Version"),
    N_("Reason"),
)
WHEN = "%Y-%m-%d %H:%M:%S"


def kind_label(kind: str) -> str:
    return render(KIND_LABELS[kind]) if kind in KIND_LABELS else kind


async def _trade(competition_id: int, trade_text: str | None) -> stages.TradeState:
    trade_id = parse_int(trade_text, minimum=1)
    if trade_id is None:
        raise ValidationFailed("Choose a trade.", code="trade_missing")
    state = await stages.trade_state(trade_id)
    if state.competition_id != competition_id:
        raise NotFound("The trade was not found.", code="trade_not_found")
    return state


def _trade_dict(state: stages.TradeState) -> dict[str, Any]:
    return {
        "id": state.trade_id,
        "code": state.code,
        "name": state.name,
        "stage_label": render(STAGE_LABELS[state.stage]),
    }


@get(BASE, opt=roles(Role.supervisor), include_in_schema=False)
async def marks_trail(
    request: Request,
    competition_id: FromPath[int],
    trade: FromQuery[str] = "",
    before: FromQuery[str] = "",
    after: FromQuery[str] = "",
) -> Template:
    """Without a trade: the trades to choose from. With one: its trail, newest first."""
    require_competition(request.user, competition_id, Role.supervisor)
    competition = await services.get_competition(competition_id)
    trades = [_trade_dict(s) for s in await stages.trades_of(competition_id)]
    if not trade:
        return page("scoring/trail/marks.html", competition=competition, trades=trades,
                    trade=None, result=None, count=0, query="", kind_label=kind_label)  # fmt: skip
    state = await _trade(competition_id, trade)
    result = await trail.trail_page(
        state.trade_id,
        before=parse_int(before, minimum=1),
        after=parse_int(after, minimum=1),
    )
    return page(
        "scoring/trail/marks.html",
        competition=competition,
        trades=trades,
        trade=_trade_dict(state),
        result=result,
        count=await trail.change_count(state.trade_id),
        query=urlencode({"trade": state.trade_id}),
        kind_label=kind_label,
    )


class TrailWorkbook:
    """The trail as one sheet, written in order (constant memory: a trade's trail may hold
    hundreds of thousands of rows)."""

    def __init__(self, title: str) -> None:
        # Every text in the reader's language, made here: the rows are written in a worker
        # thread.
        self.kinds = {kind: kind_label(kind) for kind in KIND_LABELS}
        self.panel = gettext("(the panel)")
        self.buffer = io.BytesIO()
        self.book = kit.new_workbook(self.buffer, constant_memory=True)
        self.book.set_properties({"title": title})
        self.sheet = self.book.add_worksheet(kit.sheet_title(gettext("Marks trail")))
        head = self.book.add_format(HEAD)
        widths = (20, 18, 20, 12, 10, 10, 8, 12, 10, 10, 8, 40)
        for column, width in enumerate(widths):
            self.sheet.set_column(column, column, width)
        self.sheet.freeze_panes(1, 0)
        kit.write_row(self.sheet, 0, [render(c) for c in COLUMNS], head)
        self.rows = 0

    def add(self, rows: list[trail.TrailRow]) -> None:
        for row in rows:
            self.rows += 1
            line = self.rows
            values = [
                format_datetime(row.at, WHEN),
                row.actor,
                row.device,
                self.kinds.get(row.kind, row.kind),
                row.code,
                row.judge_code,
                row.aspect_code,
                row.judge or self.panel,
                row.old,
                row.new,
            ]
            kit.write_row(self.sheet, line, values)
            self.sheet.write_number(line, 10, row.version)
            kit.write_text(self.sheet, line, 11, row.reason)

    def finish(self) -> bytes:
        self.sheet.autofilter(0, 0, max(self.rows, 1), len(COLUMNS) - 1)
        self.book.close()
        return self.buffer.getvalue()


@get(BASE + ".xlsx", opt=roles(Role.supervisor), include_in_schema=False)
async def marks_trail_export(
    request: Request, competition_id: FromPath[int], trade: FromQuery[str] = ""
) -> Response:
    """Every change to every mark of the trade, newest first, as an xlsx."""
    require_competition(request.user, competition_id, Role.supervisor)
    state = await _trade(competition_id, trade)
    book = TrailWorkbook(f"{state.code} {state.name}")
    async for batch in trail.trail_batches(state.trade_id):
        await anyio.to_thread.run_sync(book.add, batch)
    content = await anyio.to_thread.run_sync(book.finish)
    return attachment(content, f"{state.code}-评分记录.xlsx", f"{state.code}-marks-trail.xlsx",
                      XLSX_MEDIA_TYPE)  # fmt: skip


ROUTES = [marks_trail, marks_trail_export]
