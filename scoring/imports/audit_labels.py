"""How the audit trail names the score imports (scoring/imports/) and the fields their records
carry ("rows" is registration's label already)."""

from __future__ import annotations

from competition.audit_trail import (
    register_action_labels,
    register_field_labels,
    register_reason_labels,
)
from competition.i18n import N_

IMPORT_KIND_LABELS = {
    "marks": N_("Paper score sheets"),
    "theory": N_("Theory and oral scores"),
    "penalties": N_("Penalties"),
    "times": N_("Completion times"),
}

register_action_labels(
    {
        "marks.import": N_("Paper score sheets imported"),
        "theory.import": N_("Theory and oral scores imported"),
        "penalties.import": N_("Penalties imported"),
        "times.import": N_("Completion times imported"),
        "score_import.refused": N_("Score import refused"),
    }
)
register_field_labels(
    {
        "file": N_("File"),
        "batch": N_("Import batch"),
        "saved": N_("Marks saved"),
        "unchanged": N_("Unchanged"),
        "sheets": N_("Score sheets"),
        "signed": N_("Sheets signed"),
        "double_entry": N_("Double entry"),
        "trades": N_("Trades"),
        "created": N_("New"),
        "replaced": N_("Replaced"),
        "changes": N_("Changes"),
        "penalties": N_("Penalties"),
        "problems": N_("Problems"),
        "codes": N_("Reasons"),
        "import_kind": N_("Import"),
    },
    {"import_kind": IMPORT_KIND_LABELS},
)
# A sheet signed by the paper-marks import carries the reason "paper".
register_reason_labels({"paper": N_("Signed on the paper score sheet")})
