"""Scoring: marking schemes, judges and panels, the draw and its codes, marks, rules, locks."""

# What the core calls back into, registered on import (the core never imports scoring): what a
# phase change means for the trades' stages, and how the audit trail names scoring's actions.
from scoring import audit_labels, imports, panels, phase_checks, review, sheets  # noqa: F401
