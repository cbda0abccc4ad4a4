"""Settings read from the environment, once per process.

| variable               | default                              |
|------------------------|--------------------------------------|
| DATABASE_URL           | sqlite:///jiangxin.sqlite3 (in cwd)  |
| JIANGXIN_SECRET        | generated into .jiangxin_secret      |
| JIANGXIN_HOST          | 127.0.0.1                            |
| JIANGXIN_PORT          | 8000                                 |
| JIANGXIN_COOKIE_SECURE | 1 (cookies only over HTTPS)          |
| JIANGXIN_TRUSTED_PROXIES | none: X-Forwarded-For is ignored   |
| JIANGXIN_PUBLIC_ORIGIN | (none) extra origins forms may come from |
| JIANGXIN_QUEUE_URL     | the PostgreSQL database itself; redis://127.0.0.1:6379/0 with SQLite |
| JIANGXIN_LOG_FORMAT    | text; json: one JSON object a line (`jiangxin serve`, `worker`) |
| JIANGXIN_PGBOUNCER     | 0; 1: DATABASE_URL is a PgBouncer in transaction pooling |

JIANGXIN_TRUSTED_PROXIES lists the addresses (or networks, e.g. 10.0.0.0/8) of the reverse
proxies in front of `jiangxin serve`, comma-separated. Only requests arriving from them may name
the client in X-Forwarded-For; without it the peer address is the client. Sign-in throttling
counts by that address, so trusting the header from anyone would let a guesser pick a fresh
address for every try.

JIANGXIN_QUEUE_URL is where background jobs (big exports, certificates) wait for `jiangxin
worker`: a `postgresql://` or `redis://` URL (competition/jobs/). With PostgreSQL as the database
the queue lives in it by default (no other service to run); an SQLite install uses the local
Redis, which one SQLite file cannot replace (the workers are other processes).

JIANGXIN_PGBOUNCER=1 turns off asyncpg's cache of prepared statements (`statement_cache_size=0`):
behind PgBouncer in transaction pooling, consecutive statements of a connection may run on
different server connections, where a statement prepared on another does not exist.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

REPO_ROOT = Path(__file__).resolve().parent.parent
STATIC_DIR = REPO_ROOT / "static"  # scripts, styles, the vendored QR reader: served at /static
DEFAULT_DATABASE_URL = "sqlite:///jiangxin.sqlite3"
DEFAULT_QUEUE_URL = "redis://127.0.0.1:6379/0"
SECRET_FILE = ".jiangxin_secret"  # noqa: S105 - a file name, not a secret


LOG_FORMATS = ("text", "json")


class ConfigError(ValueError):
    """A setting in the environment that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class DatabaseTarget:
    engine: str  # "sqlite" or "postgres"
    sqlite_path: str | None = None
    postgres_dsn: str | None = None
    postgres_database: str | None = None


def parse_database_url(url: str) -> DatabaseTarget:
    """`sqlite:///relative.db`, `sqlite:////abs/path.db` or `postgresql://user@host:port/db`."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # sqlite:///x.db -> path "/x.db" means relative "x.db"; sqlite:////abs -> "//abs".
        path = unquote(parsed.path)
        path = path[1:] if path.startswith("/") else path
        if not path:
            raise ConfigError(
                "DATABASE_URL for SQLite needs a file path, e.g. sqlite:///jiangxin.sqlite3"
            )
        if path == ":memory:":
            raise ConfigError(
                "SQLite :memory: is not supported: Piccolo opens a connection per query"
            )
        return DatabaseTarget(engine="sqlite", sqlite_path=str(Path(path).resolve()))
    if parsed.scheme in {"postgres", "postgresql"}:
        database = parsed.path.lstrip("/")
        if not database:
            raise ConfigError("DATABASE_URL for PostgreSQL needs a database name")
        dsn = url.replace("postgres://", "postgresql://", 1)
        return DatabaseTarget(engine="postgres", postgres_dsn=dsn, postgres_database=database)
    raise ConfigError(
        f"DATABASE_URL scheme {parsed.scheme!r} is not supported (use sqlite or postgresql)"
    )


def _load_or_create_secret(directory: Path) -> str:
    path = directory / SECRET_FILE
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    secret = secrets.token_urlsafe(48)
    # Created with 0600 so other local users cannot forge sessions or tickets.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secret + "\n")
    return secret


def _proxies(value: str | None) -> tuple[str, ...]:
    entries = [item.strip() for item in (value or "").split(",") if item.strip()]
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError as exc:
            raise ConfigError(
                f"JIANGXIN_TRUSTED_PROXIES: {entry!r} is not an IP address or network "
                "(a proxy must be named; '*' would let anyone set the client address)"
            ) from exc
    return tuple(entries)


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _origins(value: str | None) -> tuple[str, ...]:
    """`https://jx.example.org[,…]`: where users reach the site when a proxy in front of it
    changes the Host header; state-changing requests from these origins are accepted."""
    origins = []
    for item in (value or "").split(","):
        item = item.strip().rstrip("/").lower()
        if not item:
            continue
        parsed = urlparse(item)
        if parsed.scheme not in {"http", "https"} or not parsed.netloc or parsed.path:
            raise ConfigError(
                "JIANGXIN_PUBLIC_ORIGIN must be origins like https://jiangxin.example.org"
            )
        origins.append(item)
    return tuple(origins)


def _queue_url(value: str | None, database_url: str) -> str:
    if not value:
        if urlparse(database_url).scheme in {"postgres", "postgresql"}:
            return database_url.replace("postgres://", "postgresql://", 1)
        return DEFAULT_QUEUE_URL
    scheme = urlparse(value).scheme
    if not (scheme.startswith("redis") or scheme in {"postgres", "postgresql"}):
        raise ConfigError(
            "JIANGXIN_QUEUE_URL must be a redis:// or postgresql:// URL "
            "(the background jobs' queue)"
        )
    return value


@dataclass(frozen=True)
class Settings:
    database_url: str
    database: DatabaseTarget
    secret: str
    host: str
    port: int
    cookie_secure: bool
    trusted_proxies: tuple[str, ...] = ()
    public_origins: tuple[str, ...] = ()
    queue_url: str = DEFAULT_QUEUE_URL
    log_format: str = "text"
    pgbouncer: bool = False
    # How long a SQLite write waits for another worker's write lock before it gives up (and
    # the request is answered 503 "busy", never 500).
    sqlite_busy_seconds: float = 30.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, workdir: Path | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        workdir = workdir or Path.cwd()
        url = env.get("DATABASE_URL") or DEFAULT_DATABASE_URL
        secret = env.get("JIANGXIN_SECRET") or _load_or_create_secret(workdir)
        if len(secret) < 32:
            raise ConfigError("JIANGXIN_SECRET must be at least 32 characters")
        try:
            port = int(env.get("JIANGXIN_PORT", "8000"))
        except ValueError as exc:
            raise ConfigError("JIANGXIN_PORT must be a number") from exc
        try:
            busy = float(env.get("JIANGXIN_SQLITE_BUSY_SECONDS") or 30)
        except ValueError as exc:
            raise ConfigError("JIANGXIN_SQLITE_BUSY_SECONDS must be a number") from exc
        if not 0 < busy <= 600:
            raise ConfigError("JIANGXIN_SQLITE_BUSY_SECONDS must be between 0 and 600")
        log_format = (env.get("JIANGXIN_LOG_FORMAT") or "text").strip().lower()
        if log_format not in LOG_FORMATS:
            raise ConfigError("JIANGXIN_LOG_FORMAT must be text or json")
        return cls(
            database_url=url,
            database=parse_database_url(url),
            secret=secret,
            host=env.get("JIANGXIN_HOST", "127.0.0.1"),
            port=port,
            cookie_secure=_flag(env.get("JIANGXIN_COOKIE_SECURE"), default=True),
            trusted_proxies=_proxies(env.get("JIANGXIN_TRUSTED_PROXIES")),
            public_origins=_origins(env.get("JIANGXIN_PUBLIC_ORIGIN")),
            queue_url=_queue_url(env.get("JIANGXIN_QUEUE_URL"), url),
            log_format=log_format,
            pgbouncer=_flag(env.get("JIANGXIN_PGBOUNCER"), default=False),
            sqlite_busy_seconds=busy,
        )


_settings: Settings | None = None


def get_settings() -> Settings:
    global _settings
    if _settings is None:
        _settings = Settings.from_env()
    return _settings
