"""Piccolo's configuration: the engine comes from DATABASE_URL (see competition/config.py)."""

from piccolo.conf.apps import AppRegistry

from competition.db import build_engine

DB = build_engine()

APP_REGISTRY = AppRegistry(apps=["piccolo_app"])
