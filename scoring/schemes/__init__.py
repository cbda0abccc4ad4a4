"""Marking schemes (评分细则): versions, the pure checks, the xlsx import, the printouts."""
