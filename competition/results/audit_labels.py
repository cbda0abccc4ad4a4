"""How the audit trail names the results' actions: publication, withdrawal, the final result and
the appeals. (Decryption is a stage move, "trade.stage", named by scoring.)"""

from __future__ import annotations

from competition.audit_trail import register_action_labels
from competition.i18n import N_

register_action_labels(
    {
        "results.published": N_("Results published"),
        "results.withdrawn": N_("Published results withdrawn"),
        "results.final": N_("Results made final"),
        "appeal.filed": N_("Appeal filed"),
        "appeal.ruled": N_("Appeal ruled on"),
    }
)
