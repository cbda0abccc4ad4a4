"""Organizer (组委会) pages that set up a competition's structure: industries (行业), trades
(工种), delegations (推荐单位), quotas (名额), venues (赛场), sessions (场次) and stations (工位).

Every write goes through `competition.structure` (validated, checked against the phase,
audited); the handlers read a form, call it, and redirect, or show the form again with what was
typed and the error. List filters use codes (`/sessions?trade=T001`), so links read well and a
form can send the organizer back to the list it came from.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from competition import catalogue, services, structure
from competition.clock import DISPLAY_TIMEZONE
from competition.errors import Conflict, DomainError, NotFound
from competition.i18n import gettext, ngettext, translate_error, translate_field_errors
from competition.phases import STRUCTURE_EDITABLE, Phase
from competition.schemas import (
    AWARD_ROUNDINGS,
    WORLDSKILLS_SCOPES,
    WORLDSKILLS_SPREADS,
    QuotaIn,
    StationIn,
)
from competition.setup_forms import (
    TIE_BREAK_SLOTS,
    Options,
    QuotaSummary,
    award_mode_choices,
    cap_field,
    cap_values,
    delegation_kind_choices,
    delegation_values,
    event_choices,
    industry_values,
    judge_rule_choices,
    labelled_choices,
    load_options,
    load_row,
    new_trade_values,
    quota_rows,
    quota_values,
    read_delegation,
    read_industry,
    read_quota,
    read_quota_fill,
    read_quota_grid,
    read_session,
    read_station,
    read_station_batch,
    read_trade,
    read_venue,
    session_counts,
    session_values,
    skill_level_choices,
    station_codes,
    station_values,
    summarise_quotas,
    tie_breaker_choices,
    trade_counts,
    trade_from_row,
    trade_values,
    unlimited_field,
    venue_values,
)
from competition.tables import DelegationKind, EventKind, Role
from competition.web.access import require_competition, roles
from competition.web.forms import form_fields
from competition.web.templating import page

BASE = "/org/competitions/{competition_id:int}"


def _list_url(competition_id: int, slug: str, filters: dict[str, str], done: str = "") -> str:
    query = {k: v for k, v in filters.items() if v}
    if done:
        query["done"] = done
    url = f"/org/competitions/{competition_id}/{slug}"
    return f"{url}?{urlencode(query)}" if query else url


def _row_errors(exc: structure.ImportRejected, fields: list[str]) -> dict[str, str]:
    """The per-row errors of a rejected import, put next to the inputs the rows came from."""
    errors: dict[str, str] = {}
    for err in exc.plan.errors:
        name = fields[err.index] if err.index < len(fields) else err.field
        errors.setdefault(name, gettext(err.message, **err.params))
    return errors


def _first_row_error(exc: DomainError) -> str:
    """A rejected import names the first row's problem, not only how many rows failed."""
    if isinstance(exc, structure.ImportRejected) and exc.plan.errors:
        err = exc.plan.errors[0]
        summary = ngettext(
            "Nothing was saved: {n} row has an error.",
            "Nothing was saved: {n} rows have errors.",
            len(exc.plan.errors),
        )
        return f"{summary} {gettext(err.message, **err.params)}"
    return translate_error(exc)


class SetupPages(Controller, abc.ABC):
    """New, edit and delete of one kind of record; each subclass adds its list page."""

    opt = roles(Role.organizer)
    include_in_schema = False

    kind: ClassVar[str]  # the structure kind, e.g. "industry"
    slug: ClassVar[str]  # the URL segment and the sub-menu key, e.g. "industries"
    option_kinds: ClassVar[tuple[str, ...]] = ()
    # List filters a form may carry back to the list (hidden inputs of the delete buttons).
    filter_names: ClassVar[tuple[str, ...]] = ()

    # ------------------------------------------------------------ hooks for each kind

    @abc.abstractmethod
    async def list_context(
        self, competition: dict[str, Any], filters: dict[str, str]
    ) -> dict[str, Any]:
        """Defined by every concrete page class."""

    @abc.abstractmethod
    def read_form(self, data: dict[str, str], row: dict[str, Any] | None, options: Options) -> Any:
        """Defined by every concrete page class."""

    @abc.abstractmethod
    def form_values(self, row: dict[str, Any], options: Options) -> dict[str, str]:
        """Defined by every concrete page class."""

    def default_values(self, request: Request, options: Options) -> dict[str, str]:
        return {}

    def form_extras(self, competition: dict[str, Any]) -> dict[str, Any]:
        return {}

    def back_filters(self, item: Any) -> dict[str, str]:
        """The list filter to return to after saving `item` (e.g. its trade's sessions)."""
        return {}

    def clarify(self, exc: DomainError) -> DomainError:
        return exc

    # ------------------------------------------------------------ shared machinery

    @staticmethod
    async def open_competition(request: Request, competition_id: int) -> dict[str, Any]:
        require_competition(request.user, competition_id, Role.organizer)
        return await services.get_competition(competition_id)

    def base_context(self, competition: dict[str, Any]) -> dict[str, Any]:
        return {
            "competition": competition,
            "editable": Phase(competition["phase"]) in STRUCTURE_EDITABLE,
            "base": f"/org/competitions/{competition['id']}/{self.slug}",
            "error": None,
        }

    async def render_list(
        self,
        competition: dict[str, Any],
        filters: dict[str, str],
        *,
        status_code: int = 200,
        error: str | None = None,
    ) -> Template:
        context = self.base_context(competition) | await self.list_context(competition, filters)
        context["error"] = error
        return page(f"competition/setup/{self.slug}.html", status_code=status_code, **context)

    def render_form(
        self,
        competition: dict[str, Any],
        options: Options,
        row: dict[str, Any] | None,
        values: dict[str, str],
        exc: DomainError | None = None,
    ) -> Template:
        return page(
            f"competition/setup/{self.kind}_form.html",
            status_code=exc.status_code if exc else 200,
            **self.base_context(competition),
            **self.form_extras(competition),
            options=options,
            record=row,
            values=values,
            errors=translate_field_errors(exc) if exc else {},
            form_error=translate_error(exc) if exc else None,
        )

    # ------------------------------------------------------------ handlers

    @get("/new")
    async def new_form(self, request: Request, competition_id: FromPath[int]) -> Template:
        competition = await self.open_competition(request, competition_id)
        options = await load_options(competition_id, *self.option_kinds)
        return self.render_form(competition, options, None, self.default_values(request, options))

    @post("/new")
    async def create(self, request: Request, competition_id: FromPath[int]) -> Template | Redirect:
        competition = await self.open_competition(request, competition_id)
        data = await form_fields(request)
        options = await load_options(competition_id, *self.option_kinds)
        try:
            item = self.read_form(data, None, options)
            await structure.save_record(self.kind, competition_id, item, request.user.actor)
        except DomainError as exc:
            return self.render_form(competition, options, None, data, self.clarify(exc))
        url = _list_url(competition_id, self.slug, self.back_filters(item), "created")
        return Redirect(url, status_code=303)

    @get("/{record_id:int}/edit")
    async def edit_form(
        self, request: Request, competition_id: FromPath[int], record_id: FromPath[int]
    ) -> Template:
        competition = await self.open_competition(request, competition_id)
        row = await load_row(self.kind, competition_id, record_id)
        options = await load_options(competition_id, *self.option_kinds)
        return self.render_form(competition, options, row, self.form_values(row, options))

    @post("/{record_id:int}/edit")
    async def update(
        self, request: Request, competition_id: FromPath[int], record_id: FromPath[int]
    ) -> Template | Redirect:
        competition = await self.open_competition(request, competition_id)
        row = await load_row(self.kind, competition_id, record_id)
        data = await form_fields(request)
        options = await load_options(competition_id, *self.option_kinds)
        try:
            item = self.read_form(data, row, options)
            await structure.save_record(
                self.kind, competition_id, item, request.user.actor, record_id=record_id
            )
        except DomainError as exc:
            return self.render_form(competition, options, row, data, self.clarify(exc))
        url = _list_url(competition_id, self.slug, self.back_filters(item), "saved")
        return Redirect(url, status_code=303)

    @post("/{record_id:int}/delete")
    async def delete(
        self, request: Request, competition_id: FromPath[int], record_id: FromPath[int]
    ) -> Template | Redirect:
        competition = await self.open_competition(request, competition_id)
        data = await form_fields(request)
        filters = {k: data.get(k, "") for k in self.filter_names}
        try:
            await structure.delete_record(self.kind, competition_id, record_id, request.user.actor)
        except DomainError as exc:
            return await self.render_list(
                competition, filters, status_code=exc.status_code, error=translate_error(exc)
            )
        return Redirect(_list_url(competition_id, self.slug, filters, "deleted"), status_code=303)


# ---------------------------------------------------------------------------- industries


class IndustryPages(SetupPages):
    path = BASE + "/industries"
    kind = "industry"
    slug = "industries"

    @get("/")
    async def list_page(self, request: Request, competition_id: FromPath[int]) -> Template:
        competition = await self.open_competition(request, competition_id)
        return await self.render_list(competition, {})

    async def list_context(self, competition, filters):
        rows = await catalogue.industries(competition["id"])
        return {"rows": rows, "trade_counts": await trade_counts(competition["id"])}

    def read_form(self, data, row, options):
        return read_industry(data)

    def form_values(self, row, options):
        return industry_values(row)

    def default_values(self, request, options):
        return {"sort_order": "0"}


# ---------------------------------------------------------------------------- trades


class TradePages(SetupPages):
    path = BASE + "/trades"
    kind = "trade"
    slug = "trades"
    option_kinds = ("industries",)
    filter_names = ("industry", "q")

    @get("/")
    async def list_page(
        self,
        request: Request,
        competition_id: FromPath[int],
        industry: FromQuery[str] = "",
        q: FromQuery[str] = "",
    ) -> Template:
        competition = await self.open_competition(request, competition_id)
        return await self.render_list(competition, {"industry": industry, "q": q})

    async def list_context(self, competition, filters):
        cid = competition["id"]
        industries = await catalogue.industries(cid)
        chosen = next((i for i in industries if i["code"] == filters.get("industry")), None)
        rows = await catalogue.trades(cid)
        total = len(rows)
        if chosen is not None:
            rows = [r for r in rows if r["industry"] == chosen["id"]]
        needle = (filters.get("q") or "").strip().casefold()
        if needle:
            rows = [
                r
                for r in rows
                if needle in r["code"].casefold()
                or needle in r["name"].casefold()
                or needle in r["name_en"].casefold()
            ]
        return {
            "rows": rows,
            "total": total,
            "industries": industries,
            "filters": {"industry": chosen["code"] if chosen else "", "q": filters.get("q", "")},
            "quotas": summarise_quotas(await quota_rows(cid), "trade"),
        }

    def read_form(self, data, row, options):
        return read_trade(data)

    def form_values(self, row, options):
        return trade_values(trade_from_row(row, options.code_of("industries", row["industry"])))

    def default_values(self, request, options):
        return new_trade_values(request.query_params.get("industry", ""))

    def form_extras(self, competition):
        return {
            "skill_levels": skill_level_choices(),
            "judge_rules": judge_rule_choices(),
            "tie_breakers": tie_breaker_choices(),
            "award_modes": award_mode_choices(),
            "award_roundings": labelled_choices(AWARD_ROUNDINGS),
            "worldskills_scopes": labelled_choices(WORLDSKILLS_SCOPES),
            "worldskills_spreads": labelled_choices(WORLDSKILLS_SPREADS),
            "tie_break_slots": range(1, TIE_BREAK_SLOTS + 1),
        }


# ---------------------------------------------------------------------------- delegations


class DelegationPages(SetupPages):
    path = BASE + "/delegations"
    kind = "delegation"
    slug = "delegations"

    @get("/")
    async def list_page(self, request: Request, competition_id: FromPath[int]) -> Template:
        competition = await self.open_competition(request, competition_id)
        return await self.render_list(competition, {})

    async def list_context(self, competition, filters):
        cid = competition["id"]
        return {
            "rows": await catalogue.delegations(cid),
            "quotas": summarise_quotas(await quota_rows(cid), "delegation"),
        }

    def read_form(self, data, row, options):
        return read_delegation(data)

    def form_values(self, row, options):
        return delegation_values(row)

    def default_values(self, request, options):
        return {"kind": DelegationKind.city.value, "sort_order": "0"}

    def form_extras(self, competition):
        return {"kinds": delegation_kind_choices()}


# ---------------------------------------------------------------------------- quotas


class QuotaPages(SetupPages):
    """One trade at a time: every delegation's cap for it in one form, saved all or nothing."""

    path = BASE + "/quotas"
    kind = "quota"
    slug = "quotas"
    option_kinds = ("trades", "delegations")
    filter_names = ("trade",)

    @get("/")
    async def list_page(
        self, request: Request, competition_id: FromPath[int], trade: FromQuery[str] = ""
    ) -> Template:
        competition = await self.open_competition(request, competition_id)
        return await self.render_list(competition, {"trade": trade})

    async def list_context(self, competition, filters, values=None, errors=None):
        cid = competition["id"]
        options = await load_options(cid, "trades", "delegations")
        rows = await quota_rows(cid)
        chosen = next((t for t in options.trades if t["code"] == filters.get("trade")), None)
        caps: dict[int, dict[str, Any]] = {}
        if chosen is not None:
            caps = {r["delegation"]: r for r in rows if r["trade"] == chosen["id"]}
        if values is None:
            values = {}
            for d, r in caps.items():
                values |= cap_values(cap_field(d), r["max_entries"])
        everything, in_trade = QuotaSummary(), QuotaSummary()
        for r in rows:
            everything.add(r["max_entries"])
        for r in caps.values():
            in_trade.add(r["max_entries"])
        return {
            "options": options,
            "trade": chosen,
            "caps": caps,
            "by_trade": summarise_quotas(rows, "trade"),
            "in_trade": in_trade,
            "everything": everything,
            "values": values,
            "errors": errors or {},
            "cap_field": cap_field,
            "unlimited_field": unlimited_field,
        }

    async def _trade_or_404(self, competition_id: int, code: str) -> tuple[Options, dict]:
        options = await load_options(competition_id, "trades", "delegations")
        trade = next((t for t in options.trades if t["code"] == code), None)
        if trade is None:
            raise NotFound(
                "The {what} was not found.", code="not_found", what=structure.KINDS["trade"].label
            )
        return options, trade

    async def _grid_error(self, competition, trade, data, exc, errors) -> Template:
        context = self.base_context(competition) | await self.list_context(
            competition, {"trade": trade["code"]}, values=data, errors=errors
        )
        context["error"] = _first_row_error(exc)
        return page("competition/setup/quotas.html", status_code=exc.status_code, **context)

    @post("/bulk")
    async def save_grid(
        self, request: Request, competition_id: FromPath[int]
    ) -> Template | Redirect:
        competition = await self.open_competition(request, competition_id)
        data = await form_fields(request)
        options, trade = await self._trade_or_404(competition_id, data.get("trade", ""))
        fields: list[str] = []
        try:
            items, owners = read_quota_grid(data, trade["code"], options.delegations)
            fields = [cap_field(d) for d in owners]
            await structure.import_records("quota", competition_id, items, request.user.actor)
        except structure.ImportRejected as exc:
            return await self._grid_error(competition, trade, data, exc, _row_errors(exc, fields))
        except DomainError as exc:
            errors = translate_field_errors(exc)
            return await self._grid_error(competition, trade, data, exc, errors)
        url = _list_url(competition_id, self.slug, {"trade": trade["code"]}, "saved")
        return Redirect(url, status_code=303)

    @post("/fill")
    async def fill(self, request: Request, competition_id: FromPath[int]) -> Template | Redirect:
        competition = await self.open_competition(request, competition_id)
        data = await form_fields(request)
        options, trade = await self._trade_or_404(competition_id, data.get("trade", ""))
        try:
            items = read_quota_fill(data, trade["code"], options.delegations)
            await structure.import_records("quota", competition_id, items, request.user.actor)
        except DomainError as exc:
            errors = {"fill": _first_row_error(exc)} | translate_field_errors(exc)
            context = self.base_context(competition) | await self.list_context(
                competition, {"trade": trade["code"]}, errors=errors
            )
            context["values"]["fill"] = data.get("fill", "")
            context["error"] = _first_row_error(exc)
            return page("competition/setup/quotas.html", status_code=exc.status_code, **context)
        url = _list_url(competition_id, self.slug, {"trade": trade["code"]}, "saved")
        return Redirect(url, status_code=303)

    def read_form(self, data, row, options):
        if row is None:
            return read_quota(data)
        # Editing changes the cap only; the delegation and trade are the record's identity.
        codes = quota_values(row, options)
        return read_quota(data | {k: codes[k] for k in ("delegation_code", "trade_code")})

    def form_values(self, row, options):
        return quota_values(row, options)

    def default_values(self, request, options):
        return {"trade_code": request.query_params.get("trade", "")}

    def back_filters(self, item: QuotaIn):
        return {"trade": item.trade_code}

    def clarify(self, exc):
        if isinstance(exc, Conflict) and exc.code == "duplicate_code":
            return Conflict(
                "This delegation already has a quota for this trade.",
                code="duplicate_quota",
                field_errors={
                    "delegation_code": "This delegation already has a quota for this trade."
                },
            )
        return exc


# ---------------------------------------------------------------------------- venues


class VenuePages(SetupPages):
    path = BASE + "/venues"
    kind = "venue"
    slug = "venues"

    @get("/")
    async def list_page(self, request: Request, competition_id: FromPath[int]) -> Template:
        competition = await self.open_competition(request, competition_id)
        return await self.render_list(competition, {})

    async def list_context(self, competition, filters):
        cid = competition["id"]
        return {"rows": await catalogue.venues(cid), "session_counts": await session_counts(cid)}

    def read_form(self, data, row, options):
        return read_venue(data)

    def form_values(self, row, options):
        return venue_values(row)


# ---------------------------------------------------------------------------- sessions


class SessionPages(SetupPages):
    path = BASE + "/sessions"
    kind = "session"
    slug = "sessions"
    option_kinds = ("trades", "venues")
    filter_names = ("trade", "venue")

    @get("/")
    async def list_page(
        self,
        request: Request,
        competition_id: FromPath[int],
        trade: FromQuery[str] = "",
        venue: FromQuery[str] = "",
    ) -> Template:
        competition = await self.open_competition(request, competition_id)
        return await self.render_list(competition, {"trade": trade, "venue": venue})

    async def list_context(self, competition, filters):
        cid = competition["id"]
        options = await load_options(cid, "trades", "venues")
        trade = next((t for t in options.trades if t["code"] == filters.get("trade")), None)
        venue = next((v for v in options.venues if v["code"] == filters.get("venue")), None)
        rows = await catalogue.sessions(cid, trade["id"] if trade else None)
        if venue is not None:
            rows = [r for r in rows if r["venue"] == venue["id"]]
        return {
            "rows": rows,
            "options": options,
            "timezone": str(DISPLAY_TIMEZONE),
            "filters": {
                "trade": trade["code"] if trade else "",
                "venue": venue["code"] if venue else "",
            },
        }

    def read_form(self, data, row, options):
        return read_session(data, DISPLAY_TIMEZONE)

    def form_values(self, row, options):
        return session_values(row, options, DISPLAY_TIMEZONE)

    def default_values(self, request, options):
        return {
            "trade_code": request.query_params.get("trade", ""),
            "venue_code": request.query_params.get("venue", ""),
            "event": EventKind.practical.value,
        }

    def form_extras(self, competition):
        return {"events": event_choices(), "timezone": str(DISPLAY_TIMEZONE)}

    def back_filters(self, item):
        return {"trade": item.trade_code}


# ---------------------------------------------------------------------------- stations


class StationPages(SetupPages):
    path = BASE + "/stations"
    kind = "station"
    slug = "stations"
    option_kinds = ("venues",)
    filter_names = ("venue",)

    @get("/")
    async def list_page(
        self, request: Request, competition_id: FromPath[int], venue: FromQuery[str] = ""
    ) -> Template:
        competition = await self.open_competition(request, competition_id)
        return await self.render_list(competition, {"venue": venue})

    async def list_context(self, competition, filters, values=None, errors=None):
        cid = competition["id"]
        venues = await catalogue.venues(cid)
        chosen = next((v for v in venues if v["code"] == filters.get("venue")), None)
        rows = await catalogue.stations(cid, chosen["id"] if chosen else None)
        return {
            "rows": rows,
            "venues": venues,
            "venue_choices": [(v["code"], f"{v['code']} {v['name']}") for v in venues],
            "filters": {"venue": chosen["code"] if chosen else ""},
            "values": values
            if values is not None
            else {"venue_code": chosen["code"] if chosen else "", "prefix": "", "count": ""},
            "errors": errors or {},
        }

    @post("/generate")
    async def generate(
        self, request: Request, competition_id: FromPath[int]
    ) -> Template | Redirect:
        """Stations A01…A40 for a venue in one go; codes the venue already has are left as
        they are, so running it again with a larger count only adds the new ones."""
        competition = await self.open_competition(request, competition_id)
        data = await form_fields(request)
        try:
            batch = read_station_batch(data)
            options = await load_options(competition_id, "venues")
            venue = next((v for v in options.venues if v["code"] == batch.venue_code), None)
            existing = await station_codes(venue["id"]) if venue else set()
            items = [
                StationIn(venue_code=batch.venue_code, code=c, label=c)
                for c in batch.codes
                if c not in existing
            ]
            await structure.import_records("station", competition_id, items, request.user.actor)
        except DomainError as exc:
            errors = translate_field_errors(exc)
            if isinstance(exc, structure.ImportRejected) and exc.plan.errors:
                err = exc.plan.errors[0]
                field = "venue_code" if err.field == "venue_code" else "prefix"
                errors[field] = gettext(err.message, **err.params)
            filters = {"venue": data.get("venue_code", "")}
            context = self.base_context(competition) | await self.list_context(
                competition, filters, values=data, errors=errors
            )
            context["error"] = _first_row_error(exc)
            return page("competition/setup/stations.html", status_code=exc.status_code, **context)
        url = _list_url(competition_id, self.slug, {"venue": batch.venue_code}, "created")
        return Redirect(url, status_code=303)

    def read_form(self, data, row, options):
        return read_station(data)

    def form_values(self, row, options):
        return station_values(row, options)

    def default_values(self, request, options):
        return {"venue_code": request.query_params.get("venue", "")}

    def back_filters(self, item):
        return {"venue": item.venue_code}


ROUTES = [
    IndustryPages,
    TradePages,
    DelegationPages,
    QuotaPages,
    VenuePages,
    SessionPages,
    StationPages,
]
