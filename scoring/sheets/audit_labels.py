"""How the audit trail names the score sheets' actions: signing, re-marks, verification, refused
and locked-change marks (scoring/sheets/signing.py, marks.py, lock.py), and the chief judge's
penalties and completion times (penalties.py), with the fields those records carry."""

from __future__ import annotations

from competition.audit_trail import register_action_labels, register_field_labels
from competition.i18n import N_
from scoring.tables import PenaltyKind

PENALTY_KIND_LABELS = {
    PenaltyKind.safety.value: N_("Safety violation"),
    PenaltyKind.overtime.value: N_("Overtime"),
    PenaltyKind.other.value: N_("Other"),
}

register_action_labels(
    {
        "sheet.signed": N_("Score sheet signed"),
        "sheet.returned": N_("Score sheet returned for a re-mark"),
        "sheet.verified": N_("Score sheet verified"),
        "sheet.verification_failed": N_("Score sheet verification found a difference"),
        "mark.refused": N_("Mark refused"),
        "mark.locked_change": N_("Mark changed after the lock"),
        "penalty.add": N_("Penalty entered"),
        "penalty.remove": N_("Penalty removed"),
        "completion_time.set": N_("Completion time recorded"),
    }
)
register_field_labels(
    {
        "penalty": N_("Penalty"),
        "penalty_kind": N_("Kind of penalty"),
        "marks": N_("Marks"),
        "hundredths": N_("Hundredths of a mark"),
        "after_lock": N_("After the lock"),
        "completion_time": N_("Completion time"),
        "seconds": N_("Seconds"),
    },
    {"penalty_kind": PENALTY_KIND_LABELS},
)
