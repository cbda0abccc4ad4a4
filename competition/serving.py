"""How `jiangxin serve` runs uvicorn: TCP_NODELAY on every connection, access logs without query
strings, and proxy headers only from proxies named in JIANGXIN_TRUSTED_PROXIES."""

from __future__ import annotations

import copy
import logging
import socket
from typing import Any

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


class WithoutQueryString(logging.Filter):
    """Access log records name the path only: a search's query string may hold an ID or a phone
    number (`/org/…?q=630102…`), and personal data never goes to logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn logs (client, method, path with query, HTTP version, status).
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True


def log_config() -> dict[str, Any]:
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"without_query_string": {"()": f"{__name__}.WithoutQueryString"}}
    config["loggers"]["uvicorn.access"]["filters"] = ["without_query_string"]
    return config


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
