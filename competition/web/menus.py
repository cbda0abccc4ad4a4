"""Menus that packages above the core extend, so the core's templates never name their pages.

The organizer's menu inside a competition is grouped by the stage of the competition's life the
pages belong to (筹备 · 报名 · 检录 · 评分 · 成绩): a package registers each of its items into a
named group when the app assembly imports it (`add_competition_menu_item(item, group=…)`). A
group without items is not shown, so the scoring and results groups appear when those packages
land. The supervisor's competition page has a flat menu of read-only views built the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from competition.i18n import N_, Msg
from competition.tables import Role


@dataclass(frozen=True)
class MenuItem:
    key: str
    path: str  # relative to the menu's base, e.g. "/trades" under /org/competitions/{id}
    label: Msg


@dataclass
class MenuGroup:
    key: str
    label: Msg
    items: list[MenuItem] = field(default_factory=list)


# The groups of the organizer's competition menu, in the order of the lifecycle.
SETUP = "setup"
REGISTRATION = "registration"
CHECKIN = "checkin"
SCORING = "scoring"
RESULTS = "results"
# Items registered without a group: shown last, so an item is never lost.
MORE = "more"

COMPETITION_MENU: list[MenuGroup] = [
    MenuGroup(
        SETUP,
        N_("Setup"),
        [
            MenuItem("overview", "", N_("Overview")),
            MenuItem("industries", "/industries", N_("Industries")),
            MenuItem("trades", "/trades", N_("Trades")),
            MenuItem("delegations", "/delegations", N_("Delegations")),
            MenuItem("quotas", "/quotas", N_("Quotas")),
            MenuItem("venues", "/venues", N_("Venues")),
            MenuItem("sessions", "/sessions", N_("Sessions")),
            MenuItem("stations", "/stations", N_("Stations")),
            MenuItem("users", "/users", N_("Accounts")),
            MenuItem("import", "/import", N_("Import from Excel")),
        ],
    ),
    MenuGroup(REGISTRATION, N_("Registration")),
    MenuGroup(CHECKIN, N_("Check-in")),
    MenuGroup(SCORING, N_("Scoring")),
    MenuGroup(RESULTS, N_("Results")),
    MenuGroup(MORE, N_("More")),
]

# The supervisor's (监督仲裁) read-only views of one competition (/supervisor/competitions/{id}…).
SUPERVISOR_MENU: list[MenuItem] = [MenuItem("overview", "", N_("Overview"))]

# Where the public competition page's call to register leads ("anonymous": a visitor without
# an account, "contestant": a signed-in contestant); `{competition}` is the competition's id.
REGISTER_LINKS: dict[str, str] = {}

# Links shown on a role's home page, e.g. the delegation admin's entries.
HOME_LINKS: dict[Role, list[MenuItem]] = {role: [] for role in Role}


def menu_group(key: str) -> MenuGroup:
    for group in COMPETITION_MENU:
        if group.key == key:
            return group
    raise KeyError(f"no menu group {key!r}; the groups are {[g.key for g in COMPETITION_MENU]}")


def add_competition_menu_item(item: MenuItem, group: str = MORE) -> None:
    """Add `item` to a group of the organizer's competition menu (once: a key is unique over
    the whole menu)."""
    if any(existing.key == item.key for g in COMPETITION_MENU for existing in g.items):
        return
    menu_group(group).items.append(item)


def shown_groups() -> list[MenuGroup]:
    return [g for g in COMPETITION_MENU if g.items]


def group_of(section: str) -> str:
    """The group a page (its menu key) belongs to; the setup group for a page not in the menu."""
    for group in COMPETITION_MENU:
        if any(item.key == section for item in group.items):
            return group.key
    return SETUP


def add_supervisor_menu_item(item: MenuItem) -> None:
    if all(existing.key != item.key for existing in SUPERVISOR_MENU):
        SUPERVISOR_MENU.append(item)


def set_register_link(audience: str, path: str) -> None:
    REGISTER_LINKS[audience] = path


def add_home_link(role: Role, item: MenuItem) -> None:
    if all(existing.key != item.key for existing in HOME_LINKS[role]):
        HOME_LINKS[role].append(item)
