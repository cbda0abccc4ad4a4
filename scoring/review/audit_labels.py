"""How the audit trail names review sampling's actions (scoring/review/service.py) and the
fields their records carry."""

from __future__ import annotations

from competition.audit_trail import register_action_labels, register_field_labels
from competition.i18n import N_
from scoring.review.sampling import Reason

REASON_LABELS = {
    Reason.top.value: N_("Top 10"),
    Reason.random.value: N_("Drawn at random"),
    Reason.full.value: N_("Full re-check"),
}
OUTCOME_LABELS = {
    "": N_("Not re-checked yet"),
    "ok": N_("Correct"),
    "error": N_("Error found"),
}

register_action_labels(
    {
        "review.sample": N_("Review sample drawn"),
        "review.check": N_("Re-check recorded"),
        "review.full": N_("Full re-check required"),
    }
)
register_field_labels(
    {
        "seed": N_("Seed"),
        "algorithm": N_("Algorithm"),
        "review_note": N_("Re-check note"),
        "review_entries": N_("Entries with a total"),
        "review_top": N_("Top entries sampled"),
        "review_random": N_("Entries sampled at random"),
        "review_reason": N_("Why sampled"),
        "review_outcome": N_("Re-check outcome"),
        "review_full": N_("Full re-check required"),
        "review_checks": N_("Sampled re-checks done"),
        "review_errors": N_("Errors found"),
        "review_added": N_("Entries added for the full re-check"),
    },
    {"review_reason": REASON_LABELS, "review_outcome": OUTCOME_LABELS},
)
