"""Registration: people, entries and their review, quotas in use, tickets, check-in, imports."""

# What the core calls back into, registered on import (the core never imports registration):
# what a phase change leaves behind, and how the audit trail names registration's records.
from registration import audit_labels, phase_checks  # noqa: F401
