"""Registration's routes, and the menu entries it adds to the core's pages.

Each module owns one audience: contestants (phone), delegations, organizers, the check-in desk.
"""

from __future__ import annotations

from competition.i18n import N_
from competition.tables import Role
from competition.web.menus import (
    CHECKIN,
    REGISTRATION,
    MenuItem,
    add_competition_menu_item,
    add_home_link,
    add_supervisor_menu_item,
    set_register_link,
)


def _menus() -> None:
    for item in (
        MenuItem("entries", "/entries", N_("Entries and review")),
        MenuItem("quota-usage", "/quota-usage", N_("Quota usage")),
        MenuItem("registration-import", "/registrations/import", N_("Import registrations")),
        MenuItem("dashboard", "/dashboard", N_("Registration dashboard")),
    ):
        add_competition_menu_item(item, REGISTRATION)
    add_competition_menu_item(MenuItem("checkin", "/checkin", N_("Check-in desks")), CHECKIN)
    for item in (
        MenuItem("entries", "/entries", N_("Entries")),
        MenuItem("dashboard", "/dashboard", N_("Registration dashboard")),
        MenuItem("quota-usage", "/quota-usage", N_("Quota usage")),
        MenuItem("checkins", "/checkins", N_("Check-ins")),
        MenuItem("imports", "/imports", N_("Imports")),
    ):
        add_supervisor_menu_item(item)
    add_home_link(
        Role.delegation_admin,
        MenuItem("entries", "/delegation/entries", N_("Our entries and first review")),
    )
    add_home_link(
        Role.delegation_admin,
        MenuItem("import", "/delegation/import", N_("Import registrations from Excel")),
    )
    add_home_link(Role.contestant, MenuItem("entries", "/me/entries", N_("My registrations")))
    set_register_link("anonymous", "/signup")
    set_register_link("contestant", "/me/entries/new?competition={competition}")


_menus()


from registration.controllers import (  # noqa: E402 - after the menus, which they extend
    checkin,
    claims,
    contestant,
    delegation,
    imports,
    organizer,
    supervisor,
    tickets,
)

ROUTES = [
    *contestant.ROUTES,
    *delegation.ROUTES,
    *organizer.ROUTES,
    *supervisor.ROUTES,
    *imports.ROUTES,
    *checkin.ROUTES,
    *tickets.ROUTES,
    *claims.ROUTES,
]
