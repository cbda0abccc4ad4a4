"""Review sampling (复核) before publication: the pure choice of the sample (`sampling.py`),
the sample, the re-checks and the error rule (`service.py`). Importing the package registers
its audit labels and its check on every move of a trade into "published"."""

from scoring.review import audit_labels, service  # noqa: F401
