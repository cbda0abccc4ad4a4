"""The results' pure rules, one module each with its NAME and VERSION (like scoring/rules/):
`ranking` (places with the tie-break chain), `awards` (一/二/三等奖 bands), `titles` (place
bands for titles and skill-level promotions) and `worldskills` (the 700 scale and medals).
No database, no I/O; every score is an integer of hundredths."""
