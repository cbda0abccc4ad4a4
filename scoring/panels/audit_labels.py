"""How the audit trail names this area's records: the register's, the panels' and the badges'
actions, and judges by name (linked to the organizer's judge page)."""

from __future__ import annotations

from competition.audit_trail import ObjectKind, register_action_labels, register_object_kind
from competition.i18n import N_
from competition.tables import Role
from scoring.tables import Judge

register_action_labels(
    {
        "judge.create": N_("Judge added to the register"),
        "judge.update": N_("Judge changed"),
        "judge.delete": N_("Judge removed from the register"),
        "panel.add": N_("Judge added to a panel"),
        "panel.remove": N_("Judge removed from a panel"),
        "panel.chief": N_("Chief judge changed"),
        "panel.sessions": N_("Judge's sessions changed"),
        "judge_badge.issue": N_("Judge badge printed"),
        "judge_badge.revoke": N_("Judge badge revoked"),
        "judge_badge.sign_in": N_("Signed in by judge badge"),
    }
)


async def _judge_names(ids: list[str]) -> dict[str, str]:
    numbers = sorted({int(i) for i in ids if i.isdigit() and len(i) < 10}) or [0]
    rows = await Judge.select(Judge.id, Judge.name).where(Judge.id.is_in(numbers))
    return {str(r["id"]): r["name"] for r in rows}


register_object_kind(
    "judge",
    ObjectKind(
        N_("Judge"),
        _judge_names,
        {Role.organizer: "/org/competitions/{competition}/judges/{id}"},
    ),
)
