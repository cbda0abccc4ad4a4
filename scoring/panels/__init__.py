"""Judges and panels (裁判): the register, assignments to trades and sessions, recusal, badges."""

from scoring.panels import audit_labels  # noqa: F401 - the audit trail's names of this area
