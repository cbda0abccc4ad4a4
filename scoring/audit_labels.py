"""How the audit trail names scoring's actions: the trades' stages, marking schemes, attendance,
the draw and every read of which code is whom. (Judges, panels and badges: scoring/panels/.)"""

from __future__ import annotations

from competition.audit_trail import register_action_labels
from competition.i18n import N_

register_action_labels(
    {
        "trade.stage": N_("Trade stage changed"),
        "trade.checkin_closed": N_("Check-in of a trade closed"),
        "trade.checkin_reopened": N_("Check-in of a trade reopened"),
        "scheme.import": N_("Marking scheme imported"),
        "scheme.import_file": N_("Marking scheme file imported"),
        "scheme.edit": N_("Marking scheme edited"),
        "scheme.demo": N_("Demo marking scheme written"),
        "attendance.marked": N_("Attendance marked"),
        "attendance.cleared": N_("Attendance mark removed"),
        "attendance.sheet": N_("Sign-in sheet imported"),
        "draw.run": N_("Draw made"),
        "draw.verified": N_("Draw re-run from its seed"),
        "codes.revealed": N_("Codes and contestants read"),
    }
)
