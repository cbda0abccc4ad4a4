"""Registration's routes, and the menu entries it adds to the core's pages.

Each module owns one audience: contestants (phone), delegations, organizers, the check-in desk.
"""

from __future__ import annotations

from competition.i18n import N_
from competition.tables import Role
from competition.web.menus import MenuItem, add_competition_menu_item, add_home_link


def _menus() -> None:
    add_competition_menu_item(MenuItem("entries", "/entries", N_("Entries and review")))
    add_competition_menu_item(MenuItem("quota-usage", "/quota-usage", N_("Quota usage")))
    add_competition_menu_item(
        MenuItem("registration-import", "/registrations/import", N_("Import registrations"))
    )
    add_competition_menu_item(MenuItem("checkin", "/checkin", N_("Check-in")))
    add_home_link(
        Role.delegation_admin,
        MenuItem("entries", "/delegation/entries", N_("Our entries and first review")),
    )
    add_home_link(
        Role.delegation_admin,
        MenuItem("import", "/delegation/import", N_("Import registrations from Excel")),
    )
    add_home_link(Role.contestant, MenuItem("entries", "/me/entries", N_("My registrations")))


_menus()


from registration.controllers import (  # noqa: E402 - after the menus, which they extend
    checkin,
    claims,
    contestant,
    delegation,
    imports,
    organizer,
    tickets,
)

ROUTES = [
    *contestant.ROUTES,
    *delegation.ROUTES,
    *organizer.ROUTES,
    *imports.ROUTES,
    *checkin.ROUTES,
    *tickets.ROUTES,
    *claims.ROUTES,
]
