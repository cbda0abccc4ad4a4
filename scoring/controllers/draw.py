"""Routes of this area."""

from __future__ import annotations

ROUTES: list = []
