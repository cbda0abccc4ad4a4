"""Placeholder until its routes land."""

ROUTES: list = []
