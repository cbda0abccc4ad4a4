"""Scoring's routes, and the menu entries it adds to the core's pages.

Each module owns one area and its audiences: the trades' stages (organizer), marking schemes
(organizer), judges and panels (organizer, judge, chief judge, the badge sign-in), attendance
and the draw (organizer, encryption role, supervisor).
"""

from __future__ import annotations

from competition.i18n import N_
from competition.web.menus import (
    SCORING,
    MenuItem,
    add_competition_menu_item,
    add_supervisor_menu_item,
)

# First in the scoring group: the group's tab opens the stage of every trade.
add_competition_menu_item(MenuItem("trade-stages", "/trade-stages", N_("Trade stages")), SCORING)
add_supervisor_menu_item(MenuItem("trade-stages", "/trade-stages", N_("Trade stages")))

from scoring.controllers import (  # noqa: E402 - after the menu
    chief,
    draw,
    judges,
    mark_trail,
    review,
    schemes,
    score_imports,
    sheets,
    stages,
)

ROUTES = [
    *stages.ROUTES,
    *schemes.ROUTES,
    *judges.ROUTES,
    *draw.ROUTES,
    *sheets.ROUTES,
    *chief.ROUTES,
    *mark_trail.ROUTES,
    *review.ROUTES,
    *score_imports.ROUTES,
]
