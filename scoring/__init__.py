"""Scoring: marking schemes, judges and panels, the draw and its codes, marks, rules, locks."""

# What the core calls back into, registered on import (the core never imports scoring): what a
# phase change means for the trades' stages.
from scoring import phase_checks  # noqa: F401
