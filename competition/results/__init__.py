"""The competition's outcome (成绩结果): decryption, ranking, awards, titles and promotion, the
WorldSkills view, publication with appeals, and the exports of it all.

It sits above scoring and registration (the only part of the core allowed to import them, an
import-linter contract): it reads the totals through `scoring.totals` and never repeats the
scoring rules; its own rules (ranking, award bands, place bands, the 700 scale) are the pure
functions of `competition/results/rules/`.
"""

# How the audit trail names the results' actions, registered on import.
from competition.results import audit_labels  # noqa: F401
