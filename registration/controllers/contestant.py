"""Contestant (参赛选手) pages, made for a phone: sign up, register for a trade, follow the
review, correct and resubmit, withdraw, and reach the admission ticket once approved.

An account meets a record its delegation made by registering with the same ID number or on
the claim page (/me/entries/claim): the record is linked at once with the phone on file as
proof, else the page says it waits for the delegation (registration/claims.py). Actions the
entry's state refuses are not offered, and the page says why; a form that comes back keeps
the photo already chosen (registration/kept_photos.py)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from competition import accounts, catalogue, services
from competition.accounts import Identity
from competition.config import get_settings
from competition.errors import Conflict, DomainError, ValidationFailed
from competition.i18n import (
    N_,
    Msg,
    gettext,
    join_list,
    ngettext,
    render,
)
from competition.phases import require_phase
from competition.schemas import SKILL_LEVELS
from competition.tables import AuditLog, DelegationKind, Role, User
from competition.web.access import PUBLIC, roles
from competition.web.middleware import session_cookie
from competition.web.templating import localized, page, phase_label
from registration import claims, entries, idcard, kept_photos, tickets
from registration.access import as_contestant, person_of, require_entry_access
from registration.accounts import sign_up_contestant
from registration.entries import Outcome, editable, withdrawable
from registration.photos import MAX_UPLOAD_BYTES, ProcessedPhoto, process_photo
from registration.schemas import EntryIn, TradeRules
from registration.tables import ClaimStatus, Entry, EntryStatus, Photo

ENTRY_FIELDS = (
    "name",
    "id_number",
    "phone",
    "employer",
    "job",
    "skill_level",
    "years_of_service",
    "delegation_id",
    "trade_id",
    "group_name",
)
# What each step of an entry's history is called on the status page; other audit actions on
# an entry are not the contestant's business and are left out.
HISTORY_LABELS: dict[str, Msg] = {
    "entry.create": N_("Registration submitted"),
    "entry.update": N_("Changed and submitted again"),
    "entry.back_to_review": N_("Sent back to review after a change of particulars"),
    "entry.ticket_reissued": N_("Admission ticket reissued after a change"),
    "entry.delegation_approved": N_("Passed first review (delegation)"),
    "entry.approved": N_("Approved in final review; admission ticket issued"),
    "entry.rejected": N_("Returned in first review"),
    "entry.rejected.organizer": N_("Returned in final review"),
    "entry.revoked": N_("Revoked"),
}
STATUS_LABELS: dict[str, Msg] = {
    EntryStatus.submitted.value: N_("Waiting for first review"),
    EntryStatus.delegation_approved.value: N_("Waiting for final review"),
    EntryStatus.approved.value: N_("Approved"),
    EntryStatus.rejected.value: N_("Returned"),
    EntryStatus.revoked.value: N_("Revoked"),
}
GENDER_LABELS: dict[str, Msg] = {"male": N_("Male"), "female": N_("Female")}
APPROVED_STATUSES = (EntryStatus.delegation_approved.value, EntryStatus.approved.value)
TRADE_LIMIT_REACHED = N_(
    "You have already entered as many trades as this competition allows ({n})."
)
# `?done=<key>&entry=<id>` after a redirect: what happened, said on the page (the entry's
# trade and ticket number come from the database, never from the address).
DONE_NOTICES: dict[str, Msg] = {
    "submitted": N_("Submitted: your registration for “{trade}” waits for first review."),
    Outcome.resubmitted.value: N_("Submitted again: “{trade}” waits for first review."),
    Outcome.back_to_review.value: N_(
        "Saved. “{trade}” went back to review; your old admission ticket no longer works."
    ),
    Outcome.reissued.value: N_(
        "Saved. The admission ticket for “{trade}” was reissued: download it again, the old "
        "printout no longer passes check-in."
    ),
    Outcome.recorded.value: N_("Saved. The review of “{trade}” and your ticket stand."),
    Outcome.unchanged.value: N_("Nothing was changed."),
    "withdrawn": N_("Your registration was withdrawn."),
    "claimed": N_("Your record is linked to this account."),
}


# ---------------------------------------------------------------------------- sign-up


def _signup_page(
    values: dict[str, str], errors: dict[str, str], error: str | None, status_code: int = 200
) -> Template:
    return page(
        "registration/contestant/signup.html",
        status_code=status_code,
        values=values,
        errors=errors,
        error=error,
        min_length=accounts.PASSWORD_MIN_LENGTH,
    )


@get("/signup", opt=PUBLIC, include_in_schema=False)
async def signup_form(request: Request) -> Template | Redirect:
    if request.scope.get("user") is not None:
        return Redirect("/", status_code=303)
    return _signup_page({}, {}, None)


@post("/signup", opt=PUBLIC, include_in_schema=False)
async def signup(request: Request) -> Template | Redirect:
    if request.scope.get("user") is not None:
        return Redirect("/", status_code=303)
    form = await request.form()
    # Passwords are not stripped: a space is a legitimate character of one.
    data = {k: v for k, v in form.items() if isinstance(v, str) and k != "_csrf_token"}
    values = {"mobile": data.get("mobile", "").strip(), "name": data.get("name", "").strip()}
    try:
        user_id = await sign_up_contestant(
            values["mobile"],
            values["name"],
            data.get("password", ""),
            data.get("password_confirmation", ""),
            address=request.client.host if request.client else "unknown",
        )
    except DomainError as exc:
        return _signup_page(values, field_messages(exc), error_message(exc), exc.status_code)
    token = await accounts.start_session(user_id)
    response = Redirect("/me/entries/new", status_code=303)
    response.set_cookie(
        session_cookie(
            token,
            secure=get_settings().cookie_secure,
            max_age=int(accounts.SESSION_LIFETIME.total_seconds()),
        )
    )
    return response


# ---------------------------------------------------------------------------- helpers


def _message(message: str, params: dict[str, Any]) -> str:
    readable = {
        # A list of plain names (the groups of a trade) reads as 职工组、学生组.
        k: join_list(render(x) if isinstance(x, Msg) else str(x) for x in v)
        if isinstance(v, list | tuple)
        else v
        for k, v in params.items()
    }
    return gettext(message, **readable)


def error_message(exc: DomainError) -> str:
    return _message(exc.message, exc.params)


def field_messages(exc: DomainError) -> dict[str, str]:
    """Field → message in the user's language. A message built with N_ carries its own
    parameters (several fields, each with its own numbers); a plain one uses the error's."""
    return {
        name: _message(message, getattr(message, "params", None) or exc.params)
        for name, message in exc.field_errors.items()
    }


def eligibility_lines(rules: TradeRules) -> list[str]:
    """A trade's entry conditions as short sentences, in the user's language."""
    found = rules.eligibility
    cutoff = rules.cutoff.isoformat()
    lines = []
    if found.min_age is not None and found.max_age is not None:
        lines.append(
            gettext(
                "Aged {min} to {max} on {cutoff}",
                min=found.min_age,
                max=found.max_age,
                cutoff=cutoff,
            )
        )
    elif found.min_age is not None:
        lines.append(
            gettext("At least {min} years old on {cutoff}", min=found.min_age, cutoff=cutoff)
        )
    elif found.max_age is not None:
        lines.append(
            gettext("At most {max} years old on {cutoff}", max=found.max_age, cutoff=cutoff)
        )
    if found.min_skill_level is not None:
        lines.append(
            gettext("Skill level “{level}” or higher", level=SKILL_LEVELS[found.min_skill_level])
        )
    else:
        lines.append(gettext("No skill level required"))
    if found.min_years_service:
        lines.append(
            ngettext(
                "At least {n} year of service",
                "At least {n} years of service",
                found.min_years_service,
            )
        )
    if found.bar_previous_first_prize:
        lines.append(gettext("Earlier first-prize winners of this trade may not enter it again"))
    return lines


async def _form_context(competition_id: int) -> dict[str, Any]:
    """Everything the registration form offers: trades by industry, delegations by kind."""
    competition = await services.get_competition(competition_id)
    rules = await entries.trade_rules(competition_id)
    industries = await catalogue.trades_by_industry(competition_id)
    trades = []
    for industry in industries:
        industry["label"] = localized(industry["name"], industry.get("name_en"))
        for trade in industry["trades"]:
            rule = rules[trade["id"]]
            trade["rules"] = eligibility_lines(rule)
            trade["label"] = localized(trade["name"], trade["name_en"])
            trades.append(
                {
                    "id": trade["id"],
                    "code": trade["code"],
                    # The name in the page's language; the search matches both.
                    "name": trade["label"],
                    "zh": trade["name"],
                    "en": trade["name_en"],
                    "industry": industry["id"],
                    "industryName": industry["label"],
                    "groups": list(rule.groups),
                    "rules": trade["rules"],
                    "cutoff": rule.cutoff.isoformat(),
                }
            )
    industries = [i for i in industries if i["trades"]]
    delegations = await catalogue.delegations(competition_id)
    delegation_groups = [
        (kind.value, [d for d in delegations if d["kind"] == kind.value]) for kind in DelegationKind
    ]
    all_groups: list[str] = []
    for trade in trades:
        all_groups.extend(g for g in trade["groups"] if g not in all_groups)
    return {
        "competition": competition,
        "industries": industries,
        "trades": trades,
        "trades_by_id": {t["id"]: t for t in trades},
        "delegation_groups": [(k, ds) for k, ds in delegation_groups if ds],
        "all_groups": all_groups,
        "skill_levels": [(str(level), label) for level, label in SKILL_LEVELS.items()],
        "max_photo_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
    }


def _entry_in(data: dict[str, str], id_number: str) -> tuple[EntryIn, dict[str, Msg]]:
    """The typed form as the service's input, plus the errors of values that are not even
    numbers (the service never sees those)."""
    errors: dict[str, Msg] = {}

    def number(name: str) -> int | None:
        raw = data.get(name, "").strip()
        if not raw:
            return None
        try:
            return int(raw)
        except ValueError:
            errors[name] = N_("Enter a whole number.")
            return None

    years = number("years_of_service")
    if years is None and "years_of_service" not in errors:
        errors["years_of_service"] = N_("Enter the years of service (0 if none).")
    return (
        EntryIn(
            name=data.get("name", ""),
            id_number=id_number,
            phone=data.get("phone", ""),
            employer=data.get("employer", ""),
            job=data.get("job", ""),
            skill_level=number("skill_level"),
            years_of_service=years if years is not None else 0,
            delegation_id=number("delegation_id") or 0,
            trade_id=number("trade_id") or 0,
            group_name=data.get("group_name", ""),
        ),
        errors,
    )


async def _read_form(request: Request) -> tuple[dict[str, str], bytes | None]:
    """The text fields (stripped) and the chosen photo's bytes (None: no file chosen)."""
    form = await request.form()
    data = {k: v.strip() for k, v in form.items() if isinstance(v, str) and k != "_csrf_token"}
    upload = form.get("photo")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return data, None
    # One byte over the limit is enough for process_photo to refuse it.
    return data, await upload.read(MAX_UPLOAD_BYTES + 1)


def kept_photo(data: dict[str, str], user_id: int) -> ProcessedPhoto | None:
    """The photo a failed submit kept (registration/kept_photos.py), if it is still good."""
    return kept_photos.restore(
        data.get(kept_photos.FIELD, ""), data.get(kept_photos.PROOF_FIELD, ""), user_id
    )


class _FormFailed(Exception):
    """The form goes back to the person with these messages (and the photo kept, if one was
    chosen and was fine)."""

    def __init__(
        self,
        errors: dict[str, str],
        error: str,
        status_code: int,
        photo: ProcessedPhoto | None = None,
    ):
        self.errors, self.error, self.status_code = errors, error, status_code
        self.photo = photo


async def _checked(
    competition_id: int,
    data: dict[str, str],
    id_number: str,
    photo: bytes | None,
    *,
    photo_required: bool,
    user_id: int,
) -> tuple[EntryIn, ProcessedPhoto | None]:
    """Check everything the form can check before the service runs, so that every wrong
    field (the photo included) is reported at once rather than one per submission. A newly
    chosen photo wins over one kept from the last submit."""
    entry, parse_errors = _entry_in(data, id_number)
    errors: dict[str, str] = {}
    processed = kept_photo(data, user_id) if photo is None else None
    photo_error = None
    if processed is None and (photo is not None or photo_required):
        try:
            processed = process_photo(photo or b"")
        except ValidationFailed as exc:
            photo_error = field_messages(exc)["photo"]
    rules = (await entries.trade_rules(competition_id)).get(entry.trade_id)
    try:
        entries.check_fields(entry, rules)
    except ValidationFailed as exc:
        errors.update(field_messages(exc))
    errors.update({k: render(v) for k, v in parse_errors.items()})
    delegations = {d["id"] for d in await catalogue.delegations(competition_id)}
    if entry.delegation_id not in delegations:
        errors["delegation_id"] = gettext("Choose a delegation.")
    if photo_error:
        errors["photo"] = photo_error
    if errors:
        summary = ngettext(
            "{n} field needs correcting; see the message next to it.",
            "{n} fields need correcting; see the messages next to them.",
            len(errors),
        )
        raise _FormFailed(errors, summary, 422, processed)
    return entry, processed


def _service_failed(exc: DomainError, photo: ProcessedPhoto | None) -> _FormFailed:
    return _FormFailed(field_messages(exc), error_message(exc), exc.status_code, photo)


async def _open_competitions() -> list[dict[str, Any]]:
    """The competitions a contestant may register in today (phase and deadline)."""
    return [
        c
        for c in await services.list_competitions()
        if entries.registration_refusal(c["phase"], c["registration_closes_on"], Role.contestant)
        is None
    ]


async def _open_with_room(person_id: int | None) -> list[dict[str, Any]]:
    """The competitions open for registration, each with `used`, `limit` and `room`: whether
    this person may still enter another trade there (max_trades_per_person)."""
    found = []
    for competition in await _open_competitions():
        used, limit = await entries.trades_left(competition["id"], person_id)
        found.append(dict(competition, used=used, limit=limit, room=used < limit))
    return found


async def _history(entry_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    rows = (
        await AuditLog.select(
            AuditLog.at,
            AuditLog.action,
            AuditLog.object_id,
            AuditLog.old,
            AuditLog.new,
            AuditLog.reason,
        )
        .where(
            (AuditLog.object_type == "entry")
            & AuditLog.object_id.is_in([str(i) for i in entry_ids] or [""])
            & AuditLog.action.is_in(list(HISTORY_LABELS))
        )
        .order_by(AuditLog.id)
        .output(load_json=True)
    )
    found: dict[int, list[dict[str, Any]]] = {i: [] for i in entry_ids}
    for row in rows:
        key = row["action"]
        if key == "entry.rejected" and (row["new"] or {}).get("by") == "organizer":
            key = "entry.rejected.organizer"
        found[int(row["object_id"])].append(dict(row, label=HISTORY_LABELS[key]))
    return found


def _steps(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """submitted → first review → final review, each done / current / failed / todo."""
    status, by = entry["status"], entry["rejected_by"]
    first = (
        "done"
        if status in APPROVED_STATUSES or (status == EntryStatus.rejected and by == "organizer")
        else "failed"
        if status == EntryStatus.rejected
        else "current"
        if status == EntryStatus.submitted
        else "todo"
    )
    if status == EntryStatus.revoked:
        first = "done"
    final = (
        "done"
        if status == EntryStatus.approved
        else "current"
        if status == EntryStatus.delegation_approved
        else "failed"
        if status == EntryStatus.revoked or (status == EntryStatus.rejected and by == "organizer")
        else "todo"
    )
    return [
        {"label": N_("Registration submitted"), "state": "done"},
        {"label": N_("First review (delegation)"), "state": first},
        {"label": N_("Final review (organizer)"), "state": final},
    ]


def _why_not(row: dict[str, Any]) -> list[str]:
    """Why an action the page does not offer for this entry is not offered."""
    reasons = []
    status, phase = row["status"], row["competition.phase"]
    if status != EntryStatus.revoked and not row["can_edit"]:
        reasons.append(
            gettext(
                "Changes are closed while the competition is in the phase “{phase}”.",
                phase=phase_label(phase),
            )
        )
    if status == EntryStatus.approved:
        reasons.append(
            gettext(
                "An admitted entry cannot be withdrawn here; tell your delegation if you "
                "cannot take part."
            )
        )
    return reasons


def _done_notice(done: str, entry_id: int | None, rows: list[dict[str, Any]]) -> str | None:
    message = DONE_NOTICES.get(done)
    if message is None:
        return None
    entry = next((r for r in rows if r["id"] == entry_id), None)
    trade = entry["trade_label"] if entry else ""
    if "{trade}" in message and entry is None:
        return None
    return gettext(message, trade=trade)


# ---------------------------------------------------------------------------- pages


class ContestantController(Controller):
    path = "/me/entries"
    opt = roles(Role.contestant)
    include_in_schema = False

    @get("/")
    async def my_entries(
        self, request: Request, done: FromQuery[str] = "", entry: FromQuery[str] = ""
    ) -> Template:
        return await self._entries_page(request.user, done=done, done_entry=_int_or_none(entry))

    async def _entries_page(
        self,
        identity: Identity,
        error: str | None = None,
        status_code: int = 200,
        *,
        done: str = "",
        done_entry: int | None = None,
    ) -> Template:
        person = await person_of(identity)
        rows: list[dict[str, Any]] = []
        has_photo = False
        claim = None
        if person is None:
            # A claim of a record a delegation made: the record stays out of sight until the
            # delegation (or an organizer) confirms it.
            claim = await claims.latest_claim(identity.user_id)
            if claim and claim["reason"] == claims.SUPERSEDED:
                claim["reason"] = gettext(claims.SUPERSEDED)
        else:
            rows = (
                await Entry.select(
                    Entry.all_columns(),
                    Entry.trade.code,
                    Entry.trade.name,
                    Entry.trade.name_en,
                    Entry.delegation.name,
                    Entry.competition.name,
                    Entry.competition.name_en,
                    Entry.competition.phase,
                )
                .where(Entry.person == person["id"])
                .order_by(Entry.id)
            )
            has_photo = await Photo.exists().where(Photo.person == person["id"])
            history = await _history([r["id"] for r in rows])
            schedule = await tickets.schedules(rows)
            for row in rows:
                row["trade_label"] = localized(row["trade.name"], row["trade.name_en"])
                row["competition_label"] = localized(
                    row["competition.name"], row["competition.name_en"]
                )
                row["history"] = history[row["id"]]
                row["sessions"] = schedule[row["id"]]
                row["steps"] = _steps(row)
                last = row["history"][-1] if row["history"] else None
                row["back_to_review"] = bool(
                    row["status"] == EntryStatus.submitted
                    and last
                    and (
                        last["action"] == "entry.back_to_review"
                        or (
                            last["action"] == "entry.update"
                            and (last["old"] or {}).get("status") in APPROVED_STATUSES
                        )
                    )
                )
                row["can_edit"] = editable(row["status"], row["competition.phase"])
                row["can_withdraw"] = withdrawable(row["status"], row["competition.phase"])
                row["why_not"] = _why_not(row)
        open_competitions = await _open_with_room(person["id"] if person else None)
        return page(
            "registration/contestant/entries.html",
            status_code=status_code,
            person=person,
            claim=claim,
            masked_id=idcard.mask(person["id_number"]) if person else "",
            has_photo=has_photo,
            entries=rows,
            open_competitions=open_competitions,
            can_register=any(c["room"] for c in open_competitions) and claim_allows(claim),
            status_labels=STATUS_LABELS,
            gender_labels=GENDER_LABELS,
            error=error,
            done_notice=_done_notice(done, done_entry, rows),
        )

    # ------------------------------------------------------------------------ claim

    @get("/claim")
    async def claim_form(self, request: Request) -> Template | Redirect:
        if await person_of(request.user) is not None:
            return Redirect("/me/entries", status_code=303)
        return self._claim_page({}, {}, None)

    @post("/claim")
    async def claim(self, request: Request) -> Template | Redirect:
        identity: Identity = request.user
        if await person_of(identity) is not None:
            return Redirect("/me/entries", status_code=303)
        data, _photo = await _read_form(request)
        values = {"id_number": data.get("id_number", ""), "name": data.get("name", "")}
        try:
            result = await claims.request_claim(
                values["id_number"], values["name"], user_id=identity.user_id, actor=identity.actor
            )
        except DomainError as exc:
            return self._claim_page(
                values, field_messages(exc), error_message(exc), exc.status_code
            )
        if result.status == ClaimStatus.confirmed:
            return Redirect("/me/entries?done=claimed", status_code=303)
        return Redirect("/me/entries", status_code=303)

    def _claim_page(
        self,
        values: dict[str, str],
        errors: dict[str, str],
        error: str | None,
        status_code: int = 200,
    ) -> Template:
        return page(
            "registration/contestant/claim.html",
            status_code=status_code,
            values=values,
            errors=errors,
            error=error,
        )

    # ------------------------------------------------------------------------ register

    @get("/new")
    async def new_entry(
        self, request: Request, competition: FromQuery[int | None] = None
    ) -> Template | Redirect:
        identity: Identity = request.user
        person = await person_of(identity)
        chosen = await self._competition_for_new(competition, person)
        if isinstance(chosen, Template):
            return chosen
        return await self._form_page(
            chosen, values=await self._prefill(identity, person, chosen), person=person
        )

    @post("/new")
    async def create_entry(
        self, request: Request, competition: FromQuery[int | None] = None
    ) -> Template | Redirect:
        identity: Identity = request.user
        person = await person_of(identity)
        chosen = await self._competition_for_new(competition, person)
        if isinstance(chosen, Template):
            return chosen
        data, photo = await _read_form(request)
        # A person already on record keeps the ID number they registered with.
        id_number = person["id_number"] if person else data.get("id_number", "")
        values = {**data, "id_number": id_number}
        processed = None
        try:
            entry, processed = await _checked(
                chosen,
                data,
                id_number,
                photo,
                # A person on record with a photo may keep it for another trade.
                photo_required=not await _has_photo(person["id"] if person else None),
                user_id=identity.user_id,
            )
            try:
                entry_id = await entries.register_entry(
                    chosen,
                    entry,
                    actor=identity.actor,
                    acting=as_contestant(identity),
                    photo=processed,
                )
            except claims.ClaimPending:
                # The claim is stored; the page says what it waits for.
                return Redirect("/me/entries", status_code=303)
            except DomainError as exc:
                raise _service_failed(exc, processed) from exc
        except _FormFailed as failed:
            return await self._form_page(
                chosen,
                values=values,
                person=person,
                errors=failed.errors,
                error=failed.error,
                status_code=failed.status_code,
                kept=kept_photos.keep(failed.photo, identity.user_id) if failed.photo else None,
            )
        return Redirect(f"/me/entries?done=submitted&entry={entry_id}", status_code=303)

    async def _competition_for_new(
        self, competition_id: int | None, person: dict[str, Any] | None
    ) -> int | Template:
        """The competition to register in: the one asked for if registration is open there
        and the person may enter another trade, the only open one if none was asked for, else
        a page to choose or explain."""
        open_ones = await _open_with_room(person["id"] if person else None)
        if competition_id is None and len(open_ones) == 1:
            competition_id = open_ones[0]["id"]
        if competition_id is None:
            return page("registration/contestant/choose.html", competitions=open_ones, error=None)
        found = await services.get_competition(competition_id)
        try:
            entries.require_registration_open(
                found["phase"], found["registration_closes_on"], Role.contestant, N_("Registering")
            )
            used, limit = await entries.trades_left(
                competition_id, person["id"] if person else None
            )
            if used >= limit:
                raise Conflict(TRADE_LIMIT_REACHED, code="too_many_trades", n=limit)
        except DomainError as exc:
            return page(
                "registration/contestant/choose.html",
                status_code=exc.status_code,
                competitions=[c for c in open_ones if c["id"] != competition_id],
                error=error_message(exc),
            )
        return competition_id

    async def _prefill(
        self, identity: Identity, person: dict[str, Any] | None, competition_id: int
    ) -> dict[str, str]:
        if person is not None:
            values = {
                k: "" if person.get(k) is None else str(person[k])
                for k in ENTRY_FIELDS
                if k in person
            }
            earlier = (
                await Entry.select(Entry.delegation)
                .where((Entry.person == person["id"]) & (Entry.competition == competition_id))
                .first()
            )
            if earlier:
                values["delegation_id"] = str(earlier["delegation"])
            return values
        account = await User.select(User.phone).where(User.id == identity.user_id).first()
        return {
            "name": identity.display_name,
            "phone": account["phone"] if account else "",
            "years_of_service": "",
        }

    async def _form_page(
        self,
        competition_id: int,
        *,
        values: dict[str, str],
        person: dict[str, Any] | None,
        entry: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        error: str | None = None,
        status_code: int = 200,
        kept: kept_photos.KeptPhoto | None = None,
    ) -> Template:
        context = await _form_context(competition_id)
        chosen = context["trades_by_id"].get(_int_or_none(values.get("trade_id")))
        person_id = entry["person"] if entry is not None else person["id"] if person else None
        return page(
            "registration/contestant/entry_form.html",
            status_code=status_code,
            values=values,
            errors=errors or {},
            error=error,
            entry=entry,
            id_locked=person_id is not None,
            masked_id=idcard.mask(values.get("id_number", "")),
            has_photo=await _has_photo(person_id),
            kept_photo=kept,
            chosen_trade=chosen,
            **context,
        )

    # ------------------------------------------------------------------------ correct

    @get("/{entry_id:int}/edit")
    async def edit_entry(self, request: Request, entry_id: FromPath[int]) -> Template:
        await require_entry_access(request.user, entry_id, Role.contestant)
        entry = await entries.get_entry(entry_id)
        self._require_editable(entry)
        values = {
            "name": entry["person.name"],
            "id_number": entry["person.id_number"],
            "phone": entry["person.phone"],
            "employer": entry["person.employer"],
            "job": entry["person.job"],
            "skill_level": _text(entry["person.skill_level"]),
            "years_of_service": _text(entry["person.years_of_service"]),
            "delegation_id": str(entry["delegation"]),
            "trade_id": str(entry["trade"]),
            "group_name": entry["group_name"],
        }
        return await self._form_page(entry["competition"], values=values, person=None, entry=entry)

    @post("/{entry_id:int}/edit")
    async def update_entry(self, request: Request, entry_id: FromPath[int]) -> Template | Redirect:
        identity: Identity = request.user
        await require_entry_access(identity, entry_id, Role.contestant)
        entry = await entries.get_entry(entry_id)
        self._require_editable(entry)
        data, photo = await _read_form(request)
        # The ID number identifies the person: it is shown, never taken from the form.
        id_number = entry["person.id_number"]
        values = {**data, "id_number": id_number}
        try:
            checked, processed = await _checked(
                entry["competition"],
                data,
                id_number,
                photo,
                photo_required=False,
                user_id=identity.user_id,
            )
            try:
                correction = await entries.update_entry(
                    entry_id,
                    checked,
                    actor=identity.actor,
                    acting=as_contestant(identity),
                    photo=processed,
                )
            except DomainError as exc:
                raise _service_failed(exc, processed) from exc
        except _FormFailed as failed:
            return await self._form_page(
                entry["competition"],
                values=values,
                person=None,
                entry=entry,
                errors=failed.errors,
                error=failed.error,
                status_code=failed.status_code,
                kept=kept_photos.keep(failed.photo, identity.user_id) if failed.photo else None,
            )
        return Redirect(
            f"/me/entries?done={correction.outcome.value}&entry={entry_id}#entry-{entry_id}",
            status_code=303,
        )

    @staticmethod
    def _require_editable(entry: dict[str, Any]) -> None:
        if entry["status"] == EntryStatus.revoked:
            raise Conflict("This entry was revoked and cannot be changed.", code="entry_revoked")
        require_phase(
            entry["competition.phase"],
            entries.CORRECTION_PHASES
            if entry["status"] == EntryStatus.rejected
            else entries.REGISTRATION_PHASES,
            N_("Correcting an entry"),
        )

    @post("/{entry_id:int}/withdraw")
    async def withdraw_entry(
        self, request: Request, entry_id: FromPath[int]
    ) -> Template | Redirect:
        identity: Identity = request.user
        await require_entry_access(identity, entry_id, Role.contestant)
        try:
            await entries.withdraw_entry(entry_id, actor=identity.actor)
        except DomainError as exc:
            return await self._entries_page(
                identity, error=error_message(exc), status_code=exc.status_code
            )
        return Redirect("/me/entries?done=withdrawn", status_code=303)


def claim_allows(claim: dict[str, Any] | None) -> bool:
    """A pending claim holds the account: registering would meet the same record again."""
    return claim is None or claim["status"] != ClaimStatus.pending


async def _has_photo(person_id: int | None) -> bool:
    return person_id is not None and await Photo.exists().where(Photo.person == person_id)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value and len(value) < 10 else None
    except ValueError:
        return None


ROUTES = [signup_form, signup, ContestantController]
