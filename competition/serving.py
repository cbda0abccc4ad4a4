"""How `jiangxin serve` runs uvicorn: TCP_NODELAY on every connection, access logs without query
strings (as text, or with JIANGXIN_LOG_FORMAT=json one JSON object a line), proxy headers only
from proxies named in JIANGXIN_TRUSTED_PROXIES, and how long browsers may keep /static files."""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import logging.config
import socket
from typing import Any

from litestar.datastructures import CacheControlHeader
from litestar.logging.config import LoggingConfig
from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from competition.config import get_settings


class NoDelayHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """uvicorn's HTTP protocol, with Nagle's algorithm switched off on each accepted socket.

    With `--workers N` uvicorn binds the listening socket itself (`socket.socket(AF_INET)`, so
    its `proto` is 0), and asyncio only sets TCP_NODELAY on sockets whose proto is IPPROTO_TCP.
    A response is written as headers then body; with Nagle on, the body waits for the client to
    acknowledge the headers, and clients delay that ACK: measured on this machine, requests
    after the first on a kept-alive connection took 44-52 ms with two workers against 2-4 ms
    with one (tests/test_serving.py checks it). Setting the option here covers every way the
    server was started, and keeps uvicorn (granian would be a second server to learn and
    configure, for this one option)."""

    def connection_made(self, transport: Any) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


# Scripts, styles and the vendored QR reader: the same for everyone and free of personal data, so
# any cache may keep them. The pages name them with their content's hash (`static_url`,
# competition/web/templating.py), so an upgraded page loads its new scripts at once; an hour
# bounds what a plain URL (the service worker's first copy) may keep. Every other answer is
# `no-store` (competition/web/security.py).
STATIC_MAX_AGE_S = 3600
STATIC_CACHE_CONTROL = CacheControlHeader(public=True, max_age=STATIC_MAX_AGE_S)


class WithoutQueryString(logging.Filter):
    """Access log records name the path only: a search's query string may hold an ID or a phone
    number (`/org/…?q=630102…`), and personal data never goes to logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn logs (client, method, path with query, HTTP version, status).
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True


def _access_fields(record: logging.LogRecord) -> dict[str, Any] | None:
    args = record.args
    if record.name != "uvicorn.access" or not (isinstance(args, tuple) and len(args) == 5):
        return None
    client, method, path, version, status = args
    return {
        "client": client,
        "method": method,
        "path": str(path).split("?", 1)[0],
        "http_version": version,
        "status": int(status),
    }


class JsonFormatter(logging.Formatter):
    """One JSON object a line: `time` (UTC, ISO 8601), `level`, `logger`, `pid` (which worker),
    and either an access record's `client`, `method`, `path` (never the query string), `status`
    and `http_version`, or an app record's `message` (and `exception`, its traceback, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
        }
        access = _access_fields(record)
        if access is not None:
            entry.update(access)
        else:
            entry["message"] = record.getMessage()
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


APP_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def app_logging_config() -> LoggingConfig:
    """Litestar's logging set-up, applied when the app is made (it configures the root logger, so
    the app's and the libraries' records are in this shape): Litestar's default lines as text, or
    `JsonFormatter`'s objects with JIANGXIN_LOG_FORMAT=json."""
    if get_settings().log_format == "json":
        logging.captureWarnings(True)  # a library's warning is a record too, not a bare line
        return LoggingConfig(formatters={"standard": {"()": f"{__name__}.JsonFormatter"}})
    return LoggingConfig()


def log_config(log_format: str | None = None) -> dict[str, Any]:
    """uvicorn's logging set-up, for the server and every worker process (and for `jiangxin
    worker`): uvicorn's own lines, or with json every record through `JsonFormatter` (the app's
    too, until `app_logging_config` takes the root logger over in the same shape)."""
    log_format = log_format or get_settings().log_format
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"without_query_string": {"()": f"{__name__}.WithoutQueryString"}}
    config["loggers"]["uvicorn.access"]["filters"] = ["without_query_string"]
    if log_format == "json":
        config["formatters"] = {"json": {"()": f"{__name__}.{JsonFormatter.__name__}"}}
        for handler in config["handlers"].values():
            handler["formatter"] = "json"
        # The app's loggers (and the libraries') reach the root: the same stream, the same shape.
        config["root"] = {"handlers": ["default"], "level": "INFO"}
    return config


def configure_logging() -> None:
    """Logging of a process that is not uvicorn's (`jiangxin worker`)."""
    if get_settings().log_format == "json":
        logging.config.dictConfig(log_config("json"))
    else:
        logging.basicConfig(level=logging.INFO, format=APP_LOG_FORMAT)


def uvicorn_options(host: str, port: int, workers: int) -> dict[str, Any]:
    """Keyword arguments of `uvicorn.run` for the app factory."""
    proxies = get_settings().trusted_proxies
    return {
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        "http": f"{__name__}:{NoDelayHTTPProtocol.__name__}",
        # Only a configured proxy may say who the client is; otherwise the peer address is the
        # client (sign-in throttling counts by it, so it must not be a header anyone can set).
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": ",".join(proxies) if proxies else None,
        "log_config": log_config(),
        "log_level": "info",
    }
