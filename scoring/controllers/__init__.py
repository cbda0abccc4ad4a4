"""Scoring's routes, and the menu entries it adds to the core's pages.

Each module owns one area and its audiences: the trades' stages (organizer), marking schemes
(organizer), judges and panels (organizer, judge, chief judge, the badge sign-in), attendance
and the draw (organizer, encryption role, supervisor).
"""

from __future__ import annotations

from scoring.controllers import draw, judges, schemes, stages

ROUTES = [*stages.ROUTES, *schemes.ROUTES, *judges.ROUTES, *draw.ROUTES]
