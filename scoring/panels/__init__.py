"""Judges and panels (裁判): the register, assignments to trades and sessions, recusal, badges."""
