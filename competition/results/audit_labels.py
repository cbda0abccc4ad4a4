"""How the audit trail names the results' actions: publication, withdrawal, the final result,
the appeals, certificates and the shredding of personal data. (Decryption is a stage move,
"trade.stage", named by scoring.)"""

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
        "certificate.issue": N_("Certificate issued"),
        "certificate.revoke": N_("Certificate revoked"),
        "certificate.reissue": N_("Certificate reissued"),
        "certificate.layout": N_("Certificate design changed"),
        "competition.retention": N_("Retention period of personal data changed"),
        "competition.shred": N_("Personal data shredded"),
    }
)
