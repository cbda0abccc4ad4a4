"""The results' downloads for the organizer (full ID numbers) and the supervisor (masked):
every ranking as xlsx or CSV (?trade= one trade, ?encoding=gb18030), the awards list, the medal
table (?table=delegation|industry) and one trade's score detail."""

from __future__ import annotations

from litestar import Request, Response, get
from litestar.params import FromPath

from competition import spreadsheets as kit
from competition.errors import NotFound
from competition.results import exports
from competition.tables import Competition, Role, Trade
from competition.web.access import require_competition, roles
from competition.web.downloads import attachment
from competition.web.forms import parse_int

AUDIENCES = {"org": Role.organizer, "supervisor": Role.supervisor}


async def _names(competition_id: int, trade_id: int | None) -> tuple[str, str]:
    competition = (
        await Competition.select(Competition.code, Competition.name)
        .where(Competition.id == competition_id)
        .first()
    )
    if competition is None:
        raise NotFound("The competition was not found.", code="competition_not_found")
    if trade_id is None:
        return competition["name"], competition["code"]
    trade = (
        await Trade.select(Trade.competition, Trade.code, Trade.name)
        .where(Trade.id == trade_id)
        .first()
    )
    if trade is None or trade["competition"] != competition_id:
        raise NotFound("The trade was not found.", code="trade_not_found")
    return f"{competition['name']}-{trade['name']}", f"{competition['code']}-{trade['code']}"


def _file(
    content: bytes, name: str, ascii_name: str, suffix: str, encoding: str = "utf-8"
) -> Response:
    media = kit.XLSX_MEDIA_TYPE if suffix == "xlsx" else f"text/csv; charset={encoding}"
    safe = "".join(c for c in name if c not in '\\/:*?"<>|\r\n\t')[:100]
    return attachment(content, f"{safe}.{suffix}", f"{ascii_name}.{suffix}", media)


def _encoding(request: Request) -> str:
    return "gb18030" if request.query_params.get("encoding", "").lower() == "gb18030" else "utf-8"


def _routes(root: str) -> list:
    role = AUDIENCES[root]
    base = f"/{root}/competitions/{{competition_id:int}}/results"
    guard = {"opt": roles(role), "include_in_schema": False}
    full_id = role == Role.organizer

    @get([base + "/export.xlsx", base + "/export.csv"], name=f"{root}-results-export", **guard)
    async def rankings(request: Request, competition_id: FromPath[int]) -> Response:
        require_competition(request.user, competition_id, role)
        trade_id = parse_int(request.query_params.get("trade"), minimum=1)
        name, ascii_name = await _names(competition_id, trade_id)
        suffix = "csv" if request.url.path.endswith(".csv") else "xlsx"
        content = await exports.export_results(
            competition_id, trade_id=trade_id, fmt=suffix, encoding=_encoding(request),
            full_id=full_id,
        )  # fmt: skip
        return _file(
            content, f"{name}-成绩排名", f"{ascii_name}-results", suffix, _encoding(request)
        )

    @get([base + "/awards.xlsx", base + "/awards.csv"], name=f"{root}-results-awards", **guard)
    async def awards(request: Request, competition_id: FromPath[int]) -> Response:
        require_competition(request.user, competition_id, role)
        name, ascii_name = await _names(competition_id, None)
        suffix = "csv" if request.url.path.endswith(".csv") else "xlsx"
        content = await exports.export_awards(
            competition_id, fmt=suffix, encoding=_encoding(request)
        )
        return _file(
            content, f"{name}-获奖名单", f"{ascii_name}-awards", suffix, _encoding(request)
        )

    @get([base + "/medals.xlsx", base + "/medals.csv"], name=f"{root}-results-medals", **guard)
    async def medals(request: Request, competition_id: FromPath[int]) -> Response:
        require_competition(request.user, competition_id, role)
        name, ascii_name = await _names(competition_id, None)
        suffix = "csv" if request.url.path.endswith(".csv") else "xlsx"
        by = "industry" if request.query_params.get("table") == "industry" else "delegation"
        content = await exports.export_medals(
            competition_id, by=by, fmt=suffix, encoding=_encoding(request)
        )
        return _file(content, f"{name}-奖牌榜", f"{ascii_name}-medals", suffix, _encoding(request))

    @get(base + "/{trade_id:int}/detail.xlsx", name=f"{root}-results-detail", **guard)
    async def detail(
        request: Request, competition_id: FromPath[int], trade_id: FromPath[int]
    ) -> Response:
        require_competition(request.user, competition_id, role)
        name, ascii_name = await _names(competition_id, trade_id)
        content = await exports.export_detail(trade_id)
        return _file(content, f"{name}-评分明细", f"{ascii_name}-detail", "xlsx")

    return [rankings, awards, medals, detail]


ROUTES = [*_routes("org"), *_routes("supervisor")]
