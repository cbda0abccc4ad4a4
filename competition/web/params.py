"""Bad input stops at the edge (入口校验), before a handler or the database sees it.

`input_guard` runs before every handler of the app. It reads the handler's signature (Litestar
parses it once) and checks what the request brings against it:

- every declared `int` parameter (path, query, header, cookie, and the `int` fields of a `data`
  body, however deeply nested) against its declared bounds, or against the range of a
  PostgreSQL INTEGER when it declares none: an id in the path out of range answers 404 (there is
  no such record), any other number 400;
- every text of the request (path, query, form fields and file names, JSON strings and keys)
  against what PostgreSQL refuses to store: a NUL character, and lone surrogates: 400.

A route added later is covered without a line of its own: its parameters are in its signature.
A parameter that really holds more than an INTEGER says so with `Parameter(le=…)` (or
`msgspec.Meta(le=…)` in a body struct). `CheckedRequest` applies the text rule to every form or
JSON body the app reads, also when a handler reads `request.form()` itself; numbers a handler
parses from a form by hand go through `competition.web.forms` (`FormReader.integer`,
`parse_int`), which use the same range.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import msgspec.inspect as mi
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.constants import RESERVED_KWARGS
from litestar.datastructures import UploadFile
from litestar.enums import ParamType
from litestar.exceptions import NotFoundException, SerializationException, ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import ParameterKwarg

from competition.i18n import N_, Msg

# PostgreSQL INTEGER: every id (SERIAL), foreign key, count and number column of the schema.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
# An id is a SERIAL: 1 or more.
ID_MIN = 1
# A number in a JSON body read without a declared type: nothing can store more than 64 bits.
BIG_MIN, BIG_MAX = -(2**63), 2**63 - 1

OUT_OF_RANGE = N_("The number is out of range.")
NOT_FINITE = N_("Enter a finite number.")
TEXT_REFUSED = N_("This text contains a character that cannot be stored (such as NUL).")
REQUEST_TEXT_REFUSED = N_(
    "The request contains characters that cannot be stored (such as a NUL byte). "
    "Remove them and try again."
)
REQUEST_NUMBER_REFUSED = N_("A number in the request is out of range.")
REQUEST_UNREADABLE = N_("The request could not be read: its text is not valid UTF-8.")

# What a Linux file system holds: a name of 255 bytes, a path of 4096.
MAX_FILE_NAME, MAX_FILE_PATH = 255, 4096

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def storable(text: str) -> bool:
    """Whether a database can keep this text as it is: no NUL, no lone surrogate."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (\ud800 …)
        return False
    return True


def in_int_range(value: int, low: int = INT_MIN, high: int = INT_MAX) -> bool:
    return low <= value <= high


class BadInput(ValidationException):
    """Input refused at the edge, before any handler or the database saw it (400): a number
    out of range, text a database cannot store. `fields` maps each parameter to a msgid."""

    def __init__(self, message: str, fields: Mapping[str, str]) -> None:
        super().__init__(detail=message)
        self.message = message
        self.fields = dict(fields)


# ---------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Number:
    """A declared numeric parameter: where it comes from and what it may hold."""

    name: str  # as the client sends it
    source: ParamType
    kind: type  # int or float
    low: int | None
    high: int | None


@dataclass(frozen=True)
class Plan:
    numbers: tuple[Number, ...]
    body: Any  # msgspec type info of the `data` parameter, or None
    file_paths: tuple[str, ...] = ()  # path parameters that name a file


def _scalar(annotation: Any) -> type | None:
    """int or float for a parameter annotated with one (optional, or a list of them)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) != 1:
            return None
        annotation = members[0]
        origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, frozenset) or (
        origin is not None and getattr(origin, "__name__", "") in {"Sequence", "Iterable"}
    ):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        if len(args) != 1:
            return None
        annotation = args[0]
    if not isinstance(annotation, type) or issubclass(annotation, bool):
        return None
    if issubclass(annotation, int):
        return int
    if issubclass(annotation, float):
        return float
    return None


def _limits(
    ge: float | None, gt: float | None, le: float | None, lt: float | None, default_low: int
) -> tuple[int, int]:
    """The inclusive range of an integer with these declared bounds; an INTEGER column's where
    it declares none."""
    low = ge if ge is not None else (math.floor(gt) + 1 if gt is not None else default_low)
    high = le if le is not None else (math.ceil(lt) - 1 if lt is not None else INT_MAX)
    return int(low), int(high)


def _bounds(kwarg: Any, source: ParamType) -> tuple[int, int]:
    return _limits(
        getattr(kwarg, "ge", None),
        getattr(kwarg, "gt", None),
        getattr(kwarg, "le", None),
        getattr(kwarg, "lt", None),
        ID_MIN if source is ParamType.PATH else INT_MIN,
    )


def _source(name: str, kwarg: Any, path_names: frozenset[str]) -> tuple[ParamType, str]:
    if name in path_names:
        return ParamType.PATH, name
    if isinstance(kwarg, ParameterKwarg):
        if kwarg.header:
            return ParamType.HEADER, kwarg.header
        if kwarg.cookie:
            return ParamType.COOKIE, kwarg.cookie
        if kwarg.param_type in (ParamType.HEADER, ParamType.COOKIE):
            return kwarg.param_type, kwarg.name or name
        return ParamType.QUERY, kwarg.query or kwarg.name or name
    return ParamType.QUERY, name


def build_plan(handler: BaseRouteHandler, path_names: frozenset[str]) -> Plan:
    numbers = []
    file_paths: list[str] = []
    body = None
    dependencies = set(handler.resolve_dependencies())
    for name, field in handler.parsed_fn_signature.parameters.items():
        if name == "data":
            try:
                body = mi.type_info(field.annotation)
            except (TypeError, ValueError):  # a type msgspec cannot describe: strings only
                body = None
            continue
        if name in RESERVED_KWARGS or name in dependencies or name in {"self", "receive", "send"}:
            continue
        if isinstance(field.annotation, type) and issubclass(field.annotation, PurePath):
            file_paths.append(name)
            continue
        kind = _scalar(field.annotation)
        if kind is None:
            continue
        source, key = _source(name, field.kwarg_definition, path_names)
        low, high = _bounds(field.kwarg_definition, source) if kind is int else (None, None)
        numbers.append(Number(key, source, kind, low, high))
    return Plan(tuple(numbers), body, tuple(file_paths))


# Litestar hands every guard a fresh shallow copy of the handler (`copy(self)` in
# BaseRouteHandler.authorize_connection), so the plan is kept by what the copies share: the
# handler function and its paths. Keyed by the copy's id it was rebuilt on every request
# (~7 % of a check-in worker's CPU) and the dict grew by one copy a request.
_plans: dict[tuple[Any, frozenset[str], frozenset[str]], Plan] = {}


def plan_for(handler: BaseRouteHandler, path_names: frozenset[str]) -> Plan:
    key = (handler.fn, frozenset(handler.paths), path_names)
    found = _plans.get(key)
    if found is None:
        found = _plans[key] = build_plan(handler, path_names)
    return found


# ---------------------------------------------------------------------------- checks


def _refuse_text(fields: Mapping[str, Msg]) -> BadInput:
    return BadInput(REQUEST_TEXT_REFUSED, fields)


def _raw_values(connection: ASGIConnection, number: Number) -> list[str]:
    if number.source is ParamType.QUERY:
        return list(connection.query_params.getall(number.name, []))
    if number.source is ParamType.HEADER:
        value = connection.headers.get(number.name)
    else:
        value = connection.cookies.get(number.name)
    return [] if value is None else [value]


def _check_file_paths(connection: ASGIConnection, plan: Plan) -> None:
    """A path parameter naming a file (static files) that no file system could hold: 404, not
    the file system's "name too long" as a server error."""
    for name in plan.file_paths:
        value = PurePath(str(connection.path_params.get(name, "")))
        if len(str(value).encode("utf-8", "replace")) > MAX_FILE_PATH or any(
            len(part.encode("utf-8", "replace")) > MAX_FILE_NAME for part in value.parts
        ):
            raise NotFoundException()


def _check_numbers(connection: ASGIConnection, plan: Plan) -> None:
    problems: dict[str, Msg] = {}
    path_params = connection.path_params
    for number in plan.numbers:
        if number.source is ParamType.PATH:
            value = path_params.get(number.name)
            if number.kind is int and isinstance(value, int):
                if not in_int_range(value, number.low, number.high):
                    raise NotFoundException()
            elif isinstance(value, float) and not math.isfinite(value):
                raise NotFoundException()
            continue
        for raw in _raw_values(connection, number):
            if number.kind is int:
                try:
                    value = int(raw)
                except ValueError:
                    continue  # not a number at all: Litestar's own check answers 400
                if not in_int_range(value, number.low, number.high):
                    problems[number.name] = OUT_OF_RANGE
            else:
                try:
                    if not math.isfinite(float(raw)):
                        problems[number.name] = NOT_FINITE
                except ValueError:
                    continue
    if problems:
        raise BadInput(REQUEST_NUMBER_REFUSED, problems)


def _check_texts(connection: ASGIConnection) -> None:
    problems: dict[str, Msg] = {}
    for name, value in connection.path_params.items():
        if not storable(str(value)):
            problems[name] = TEXT_REFUSED
    for name, value in connection.query_params.multi_items():
        if not storable(name) or not storable(value):
            problems[name if storable(name) else "?"] = TEXT_REFUSED
    if problems:
        raise _refuse_text(problems)


def _as_int(value: Any, from_form: bool) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if from_form and isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def typed_problems(
    info: Any, value: Any, where: str = "", *, from_form: bool = False
) -> Iterator[str]:
    """Where, in a body shaped like `info` (msgspec type info), an `int` is out of its range."""
    if isinstance(info, mi.Metadata):
        yield from typed_problems(info.type, value, where, from_form=from_form)
    elif isinstance(info, mi.IntType):
        number = _as_int(value, from_form)
        if number is not None and not in_int_range(
            number, *_limits(info.ge, info.gt, info.le, info.lt, INT_MIN)
        ):
            yield where or "data"
    elif isinstance(info, mi.UnionType):
        for member in info.types:
            yield from typed_problems(member, value, where, from_form=from_form)
    elif isinstance(info, mi.StructType | mi.DataclassType | mi.TypedDictType):
        if isinstance(value, Mapping):
            for field in info.fields:
                if field.encode_name in value:
                    inner = f"{where}.{field.encode_name}" if where else field.encode_name
                    yield from typed_problems(
                        field.type, value[field.encode_name], inner, from_form=from_form
                    )
    elif isinstance(info, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        if isinstance(value, list):
            for i, item in enumerate(value):
                yield from typed_problems(
                    info.item_type, item, f"{where}[{i}]", from_form=from_form
                )
    elif isinstance(info, mi.TupleType):
        if isinstance(value, list):
            for i, (item_info, item) in enumerate(zip(info.item_types, value, strict=False)):
                yield from typed_problems(item_info, item, f"{where}[{i}]", from_form=from_form)
    elif isinstance(info, mi.DictType) and isinstance(value, Mapping):
        for key, item in value.items():
            yield from typed_problems(
                info.value_type, item, f"{where}.{key}" if where else str(key), from_form=from_form
            )


def _json_problems(value: Any, where: str = "") -> Iterator[tuple[str, Msg]]:
    """Text a database cannot store, and numbers no column can hold, anywhere in a JSON body."""
    if isinstance(value, str):
        if not storable(value):
            yield where or "data", TEXT_REFUSED
    elif isinstance(value, bool) or value is None or isinstance(value, float):
        return
    elif isinstance(value, int):
        if not in_int_range(value, BIG_MIN, BIG_MAX):
            yield where or "data", OUT_OF_RANGE
    elif isinstance(value, dict):
        for key, item in value.items():
            label = f"{where}.{key}" if where else str(key)
            if not storable(str(key)):
                yield where or "data", TEXT_REFUSED
                continue
            yield from _json_problems(item, label)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _json_problems(item, f"{where}[{i}]")


class CheckedRequest(Request):
    """The app's request: a form or JSON body is refused (400) when its text cannot be stored,
    whoever reads it first (the CSRF middleware, the guard or a handler)."""

    async def form(self):  # type: ignore[override]
        try:
            form = await super().form()
        except (UnicodeDecodeError, LookupError):  # a multipart part in a broken charset
            raise BadInput(REQUEST_UNREADABLE, {}) from None
        problems: dict[str, Msg] = {}
        for name, value in form.multi_items():
            text = (value.filename or "") if isinstance(value, UploadFile) else value
            if not storable(name):
                problems["?"] = TEXT_REFUSED
            elif isinstance(text, str) and not storable(text):
                problems[name] = TEXT_REFUSED
        if problems:
            raise _refuse_text(problems)
        return form

    async def json(self) -> Any:
        try:
            value = await super().json()
        except SerializationException:
            # Invalid JSON, including a lone surrogate (\ud800), which msgspec refuses to decode.
            raise BadInput(REQUEST_UNREADABLE, {}) from None
        problems = dict(_json_problems(value))
        if problems:
            if any(msg is TEXT_REFUSED for msg in problems.values()):
                raise _refuse_text(problems)
            raise BadInput(REQUEST_NUMBER_REFUSED, problems)
        return value


async def input_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """The app-wide check of every request's parameters and body (see the module's docstring)."""
    if connection.scope.get("method") == "OPTIONS":
        return
    _check_texts(connection)
    plan = plan_for(handler, frozenset(connection.path_params))
    _check_file_paths(connection, plan)
    if plan.numbers:
        _check_numbers(connection, plan)
    if connection.scope.get("method") not in BODY_METHODS or not isinstance(connection, Request):
        return
    content_type = connection.content_type[0]
    if content_type in FORM_TYPES:
        form = await connection.form()
        value: Any = {k: v[0] if len(v) == 1 else v for k, v in form.dict().items()}
        from_form = True
    elif content_type == "application/json" or content_type.endswith("+json"):
        value, from_form = await connection.json(), False
    else:
        return
    if plan.body is not None:
        problems = {
            where: OUT_OF_RANGE for where in typed_problems(plan.body, value, from_form=from_form)
        }
        if problems:
            raise BadInput(REQUEST_NUMBER_REFUSED, problems)
