"""Menus that packages above the core extend, so the core's templates never name their pages.

The app assembly imports every package's controllers, and each registers its items then.
"""

from __future__ import annotations

from dataclasses import dataclass

from competition.i18n import N_, Msg
from competition.tables import Role


@dataclass(frozen=True)
class MenuItem:
    key: str
    path: str  # relative to the menu's base, e.g. "/trades" under /org/competitions/{id}
    label: Msg


# The organizer's menu inside one competition (/org/competitions/{id}…).
COMPETITION_MENU: list[MenuItem] = [
    MenuItem("overview", "", N_("Overview")),
    MenuItem("industries", "/industries", N_("Industries")),
    MenuItem("trades", "/trades", N_("Trades")),
    MenuItem("delegations", "/delegations", N_("Delegations")),
    MenuItem("quotas", "/quotas", N_("Quotas")),
    MenuItem("venues", "/venues", N_("Venues")),
    MenuItem("sessions", "/sessions", N_("Sessions")),
    MenuItem("stations", "/stations", N_("Stations")),
    MenuItem("import", "/import", N_("Import from Excel")),
    MenuItem("users", "/users", N_("Accounts")),
]

# Links shown on a role's home page, e.g. the delegation admin's entries.
HOME_LINKS: dict[Role, list[MenuItem]] = {role: [] for role in Role}


def add_competition_menu_item(item: MenuItem) -> None:
    if all(existing.key != item.key for existing in COMPETITION_MENU):
        COMPETITION_MENU.append(item)


def add_home_link(role: Role, item: MenuItem) -> None:
    if all(existing.key != item.key for existing in HOME_LINKS[role]):
        HOME_LINKS[role].append(item)
