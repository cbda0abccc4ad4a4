"""Jinja2 set-up: one environment for every package's templates, speaking the request's language."""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

from competition.accounts import ROLE_LABELS
from competition.clock import format_date, format_datetime, local_time
from competition.config import REPO_ROOT, STATIC_DIR
from competition.i18n import N_, current_locale, gettext, ngettext
from competition.phases import PHASE_LABELS, Phase
from competition.tables import DelegationKind, EventKind, Role
from competition.web.menus import HOME_LINKS, SUPERVISOR_MENU, group_of, shown_groups

TEMPLATE_DIR = REPO_ROOT / "templates"

DELEGATION_KIND_LABELS = {
    DelegationKind.city: N_("City/prefecture union"),
    DelegationKind.industry_union: N_("Provincial industry union"),
    DelegationKind.direct: N_("Directly affiliated union"),
}
EVENT_LABELS = {
    EventKind.theory: N_("Theory"),
    EventKind.practical: N_("Practical"),
    EventKind.oral: N_("Oral defence"),
}

# `?done=<key>` after a redirect shows one of these; a fixed list, so a link cannot inject text.
NOTICES = {
    "saved": N_("Saved."),
    "created": N_("Created."),
    "deleted": N_("Deleted."),
    "imported": N_("Imported."),
    "phase": N_("The competition moved to its new phase."),
}


def notice_text(key: str) -> str | None:
    return gettext(NOTICES[key]) if key in NOTICES else None


def phase_label(phase: str) -> str:
    return gettext(PHASE_LABELS[Phase(phase)])


def role_label(role: str) -> str:
    return gettext(ROLE_LABELS[Role(role)])


def delegation_kind_label(kind: str) -> str:
    return gettext(DELEGATION_KIND_LABELS[DelegationKind(kind)])


def event_label(event: str) -> str:
    return gettext(EVENT_LABELS[EventKind(event)])


def localized(name: str, name_en: str | None = "") -> str:
    """A trade's, industry's or competition's name in the page's language: the English name on
    English pages when there is one, else the Chinese name."""
    if name_en and current_locale.get() != "zh_CN":
        return name_en
    return name


def number(value: int | None) -> str:
    """A count with thousands separators (12,345); the same in both languages."""
    return "—" if value is None else f"{value:,}"


def hundredths(value: int | None) -> str:
    """A mark or total kept in hundredths as shown: 8512 → 85.12, -50 → -0.50, None → —."""
    if value is None:
        return "—"
    sign = "-" if value < 0 else ""
    whole, part = divmod(abs(int(value)), 100)
    return f"{sign}{whole}.{part:02d}"


def cap(value: int | None) -> str:
    """A quota's or a cap's number; None is unlimited (不限)."""
    return gettext("unlimited") if value is None else str(value)


@cache
def _fingerprint(path: str, modified_ns: int) -> str:
    return hashlib.sha256((STATIC_DIR / path).read_bytes()).hexdigest()[:12]


def static_url(path: str) -> str:
    """`/static/<path>?v=<its content's hash>`: a page names the version of each script it was
    written with, so after an upgrade no browser (nor the judges' service worker) goes on with
    an old script under the new page. Hashed again when the file changes."""
    modified_ns = (STATIC_DIR / path).stat().st_mtime_ns
    return f"/static/{path}?v={_fingerprint(path, modified_ns)}"


def build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html", "xml"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        _=gettext,
        gettext=gettext,
        ngettext=ngettext,
        current_locale=lambda: current_locale.get(),
        phase_label=phase_label,
        role_label=role_label,
        delegation_kind_label=delegation_kind_label,
        event_label=event_label,
        localized=localized,
        notice_text=notice_text,
        static_url=static_url,
        menu_groups=shown_groups,
        menu_group_of=group_of,
        supervisor_menu=SUPERVISOR_MENU,
        home_links=HOME_LINKS,
        Phase=Phase,
        Role=Role,
    )
    env.filters.update(
        datetime=format_datetime,
        date=format_date,
        localtime=local_time,
        number=number,
        cap=cap,
        hundredths=hundredths,
    )
    return env


def build_template_config() -> TemplateConfig:
    return TemplateConfig(engine=JinjaTemplateEngine.from_environment(build_environment()))


def page(template: str, status_code: int = 200, **context: Any) -> Template:
    return Template(template_name=template, context=context, status_code=status_code)
