"""Scoring's tables: marking schemes, the draw and anonymous codes, panels, marks and locks."""
