"""What a background job can be. A package above the core registers a handler under a name
(`@register("results.rankings", N_("…"))`); the worker and the pages look it up here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from competition.i18n import Msg

if TYPE_CHECKING:
    from competition.jobs.service import JobRun


@dataclass(frozen=True)
class OutputFile:
    name: str  # the name it is saved under, e.g. "第十届-成绩排名.xlsx"
    ascii_name: str  # for clients that cannot read a Chinese file name
    media_type: str
    content: bytes


@dataclass
class JobOutput:
    files: list[OutputFile] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)  # counts for the job's page


Handler = Callable[["JobRun"], Awaitable[JobOutput]]


@dataclass(frozen=True)
class JobKind:
    name: str
    label: Msg  # what the job's page calls it
    handler: Handler


KINDS: dict[str, JobKind] = {}


def register(name: str, label: Msg) -> Callable[[Handler], Handler]:
    def decorate(handler: Handler) -> Handler:
        if name in KINDS and KINDS[name].handler is not handler:
            raise ValueError(f"job kind {name!r} is registered twice")
        KINDS[name] = JobKind(name, label, handler)
        return handler

    return decorate


def kind(name: str) -> JobKind | None:
    return KINDS.get(name)
