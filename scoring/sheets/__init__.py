"""Score sheets (评分表): one judge's marks of one session, saved as they are entered, signed,
verified, returned for a re-mark, and the trade's lock.

- `roster.py`: which sheets a trade has, made from the panel when the trade competes;
- `marks.py`: a mark put from a tablet (or an import), idempotent on its client id, versioned;
- `signing.py`: signing, re-mark requests, second-person verification;
- `lock.py`: what is missing before the lock, the lock, and changes after it;
- `views.py`: what the judge, the chief judge and the supervisor read.
"""

from scoring.sheets import audit_labels  # noqa: F401 - how the audit trail names them
