"""Writing decisions: a table for people, CSV and JSON Lines for programs."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Any, TextIO

from jinhua_subsidy.claims import RowError
from jinhua_subsidy.decision import FIELDS, Decision

#: Columns of the ``--errors`` file: the line in the claims file, its claim id, the reason (Chinese).
ERROR_FIELDS = ("row", "claim_id", "reason")


def csv_cells(record: dict[str, Any]) -> list[str]:
    out = []
    for f in FIELDS:
        v = record[f]
        if isinstance(v, bool):
            v = "true" if v else "false"
        elif isinstance(v, list):
            v = ";".join(v)
        out.append(v)
    return out


def write_csv(decisions: Iterable[Decision], fh: TextIO) -> None:
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(FIELDS)
    for d in decisions:
        w.writerow(csv_cells(d.record()))


def write_jsonl(decisions: Iterable[Decision], fh: TextIO) -> None:
    for d in decisions:
        fh.write(json.dumps(d.record(), ensure_ascii=False) + "\n")


def write_table(decisions: Iterable[Decision], fh: TextIO) -> None:
    rows = [csv_cells(d.record()) for d in decisions]
    widths = [max([len(h), *(display_width(r[i]) for r in rows)]) for i, h in enumerate(FIELDS)]
    line = "  ".join(h.ljust(w) for h, w in zip(FIELDS, widths, strict=True))
    fh.write(line.rstrip() + "\n")
    for r in rows:
        fh.write("  ".join(c + " " * (w - display_width(c)) for c, w in zip(r, widths, strict=True)).rstrip() + "\n")


def display_width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def write_errors(errors: Iterable[RowError], fh: TextIO) -> None:
    """Rows that cannot be read, one per line; person ids are already masked in the reasons."""
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(ERROR_FIELDS)
    for e in errors:
        w.writerow((e.row, e.claim_id, e.message))


WRITERS = {"csv": write_csv, "jsonl": write_jsonl, "table": write_table}
