"""The results' downloads for the organizer (full ID numbers) and the supervisor (masked):
every ranking as xlsx or CSV (?trade= one trade, ?encoding=gb18030), the awards list, the medal
table (?table=delegation|industry) and one trade's score detail."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Stream

from competition.jobs import service as jobs
from competition.results import exports
from competition.results.jobs import RANKINGS
from competition.tables import Role
from competition.web.access import require_competition, roles
from competition.web.downloads import attachment, content_disposition
from competition.web.forms import form_fields, parse_int

AUDIENCES = {"org": Role.organizer, "supervisor": Role.supervisor}


def _file(
    content: bytes, name: str, ascii_name: str, suffix: str, encoding: str = "utf-8"
) -> Response:
    return attachment(
        content, f"{name}.{suffix}", f"{ascii_name}.{suffix}", exports.media_type(suffix, encoding)
    )


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
        name, ascii_name = await exports.file_names(competition_id, trade_id)
        suffix = "csv" if request.url.path.endswith(".csv") else "xlsx"
        encoding = _encoding(request)
        if suffix == "xlsx":
            content = await exports.export_results(
                competition_id, trade_id=trade_id, full_id=full_id
            )
            return _file(content, f"{name}-成绩排名", f"{ascii_name}-results", suffix)
        trades = await exports.locked_standings(competition_id, trade_id)
        return Stream(
            exports.rankings_csv_chunks(trades, full_id=full_id, encoding=encoding),
            media_type=exports.media_type("csv", encoding),
            headers={
                "content-disposition": content_disposition(
                    f"{name}-成绩排名.csv", f"{ascii_name}-results.csv"
                ),
                "cache-control": "no-store",
            },
        )

    async def rankings_job(request: Request, competition_id: FromPath[int]) -> Redirect:
        """Every ranking as one file, made in the background with a progress page."""
        require_competition(request.user, competition_id, role)
        fields = await form_fields(request)
        await exports.file_names(competition_id)  # 404 for a competition that is not there
        job_id = await jobs.submit(
            RANKINGS,
            competition_id=competition_id,
            requested_by=request.user.user_id,
            params={
                "format": "csv" if fields.get("format") == "csv" else "xlsx",
                "encoding": "gb18030" if fields.get("encoding") == "gb18030" else "utf-8",
                "full_id": full_id,
            },
        )
        return Redirect(f"/jobs/{job_id}", status_code=303)

    @get([base + "/awards.xlsx", base + "/awards.csv"], name=f"{root}-results-awards", **guard)
    async def awards(request: Request, competition_id: FromPath[int]) -> Response:
        require_competition(request.user, competition_id, role)
        name, ascii_name = await exports.file_names(competition_id, None)
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
        name, ascii_name = await exports.file_names(competition_id, None)
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
        name, ascii_name = await exports.file_names(competition_id, trade_id)
        content = await exports.export_detail(trade_id)
        return _file(content, f"{name}-评分明细", f"{ascii_name}-detail", "xlsx")

    # Only the organizer's whole-competition file is a background job: a supervisor's pages never
    # write (they download the masked rankings directly).
    if role != Role.organizer:
        return [rankings, awards, medals, detail]
    job_route = post(base + "/export-job", name=f"{root}-results-export-job", **guard)(rankings_job)
    return [rankings, job_route, awards, medals, detail]


ROUTES = [*_routes("org"), *_routes("supervisor")]
