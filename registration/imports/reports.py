"""A plan as a report for programs and for the organizer's own tools (`jiangxin import
registrations --report`): every data row with its Excel row number, its verdict (new, updated,
unchanged, refused), the codes and messages of its problems and its normalised ID number — the
full number: this report is written on the organizer's server, for the organizer. The pages and
the xlsx report keep showing what they showed."""

from __future__ import annotations

import json
from typing import Any

from competition import spreadsheets as kit
from competition.i18n import gettext
from registration.imports.plan import Plan


def rows_report(plan: Plan) -> dict[str, Any]:
    verdicts = plan.verdicts()
    rows = []
    for number, id_number in zip(plan.numbers, plan.id_numbers, strict=True):
        problems = plan.errors.get(number, [])
        rows.append(
            {
                "row": number,
                "verdict": verdicts.get(number, "refused"),
                "codes": [p.code for p in problems],
                "id_number": id_number,
                "problems": [p.labelled() for p in problems],
            }
        )
    return {
        "counts": plan.counts.as_dict(),
        "quotas": [
            {
                "delegation": q.delegation,
                "trade": q.trade,
                "candidates": q.candidates,
                "places": q.cap,
                "places_left": q.free,
            }
            for q in plan.quota_lines
        ],
        "rows": rows,
    }


def json_report(plan: Plan) -> bytes:
    return json.dumps(rows_report(plan), ensure_ascii=False, indent=1).encode()


def csv_report(plan: Plan) -> bytes:
    header = (gettext("Row"), gettext("Verdict"), gettext("Codes"), gettext("ID number"),
              gettext("Problem"))  # fmt: skip
    lines = [
        (r["row"], r["verdict"], " ".join(r["codes"]), r["id_number"], "；".join(r["problems"]))
        for r in rows_report(plan)["rows"]
    ]
    return kit.csv_bytes([header, *lines])
