"""The assembly: the one place that knows every package's routes."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.config.csrf import CSRFConfig
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.static_files import create_static_files_router

from competition import db
from competition.config import STATIC_DIR, get_settings
from competition.controllers import (
    api,
    imports,
    jobs,
    organizer,
    public,
    roles,
    session,
    setup_pages,
    users,
)
from competition.jobs import queue as job_queue
from competition.results import controllers as results_controllers
from competition.serving import STATIC_CACHE_CONTROL, app_logging_config
from competition.web.access import PUBLIC, access_guard
from competition.web.errors import EXCEPTION_HANDLERS
from competition.web.middleware import context_middleware
from competition.web.openapi import document_errors
from competition.web.params import CheckedRequest, input_guard
from competition.web.security import edge_middleware, headers_hook
from competition.web.templating import build_template_config
from registration import controllers as registration_controllers
from scoring import controllers as scoring_controllers

MAX_UPLOAD_BYTES = 50 * 1024 * 1024


@asynccontextmanager
async def lifespan(app: Litestar):
    await db.start_pool()
    logging.getLogger("jiangxin").info(
        "Serving on the %s database", "postgresql" if db.is_postgres() else "sqlite"
    )
    try:
        yield
    finally:
        await job_queue.disconnect()
        await db.close_pool()


def route_handlers() -> list:
    return [
        *session.ROUTES,
        *public.ROUTES,
        *organizer.ROUTES,
        *setup_pages.ROUTES,
        *imports.ROUTES,
        *roles.ROUTES,
        *api.ROUTES,
        *jobs.ROUTES,
        *users.ROUTES,
        *registration_controllers.ROUTES,
        *scoring_controllers.ROUTES,
        *results_controllers.ROUTES,
        create_static_files_router(
            path="/static",
            directories=[STATIC_DIR],
            opt=PUBLIC,
            name="static",
            cache_control=STATIC_CACHE_CONTROL,
        ),
    ]


def create_app() -> Litestar:
    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = Litestar(
        route_handlers=route_handlers(),
        # Who may call the route first, then whether what the request brings may reach it.
        guards=[access_guard, input_guard],
        middleware=[context_middleware, DefineMiddleware(edge_middleware, settings=settings)],
        request_class=CheckedRequest,
        before_send=[headers_hook(settings)],
        csrf_config=CSRFConfig(
            secret=settings.secret,
            cookie_secure=settings.cookie_secure,
            cookie_samesite="lax",
            cookie_httponly=False,  # the page script reads it to send the header on fetch()
        ),
        template_config=build_template_config(),
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(
            title="Jiangxin API",
            version="1",
            path="/schema",
            render_plugins=[JsonRenderPlugin()],
            openapi_router=Router(
                "/schema", route_handlers=[], include_in_schema=False, opt=PUBLIC
            ),
        ),
        request_max_body_size=MAX_UPLOAD_BYTES,
        logging_config=app_logging_config(),  # text, or JSON lines (JIANGXIN_LOG_FORMAT)
        lifespan=[lifespan],
    )
    document_errors(app)
    return app
