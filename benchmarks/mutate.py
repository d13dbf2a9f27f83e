"""Mutation check: one-line edits of the rules, and whether the tests notice. Run by hand:

    /tmp/venv/bin/python benchmarks/mutate.py                 # every mutant, 2 at a time
    /tmp/venv/bin/python benchmarks/mutate.py --only D1,D2    # some of them
    /tmp/venv/bin/python benchmarks/mutate.py --list          # the mutants, not run

Each mutant is one edit of one line of core/ (a comparison, a term of a mask, a constant, a
function). The project is copied to a temporary directory (``git archive`` of ``--rev``, HEAD by
default, with tests/oracle.py and tests/test_differential.py from the working tree; ``--worktree``:
the working tree as it is, others' edits in progress included), the
package laid out as it is installed (core → jinhua_subsidy, plugins and catalogs beneath it) and
put first on PYTHONPATH, so the interpreter's own (editable) install is not used. The copy is
run unmutated first: a test that fails there is left out of every run (and named). Then, for each
mutant, its edit is applied to the copy, the tests run (``pytest -x -q``, a fast subset: the
differential test first; tests marked xfail left out, they pin known engine bugs), and the edit
is undone. A mutant is killed when the tests fail (or error, or time out), survives when they pass.

The environment sets SUBSIDY_MUTATION_RUN=1: tests/test_differential.py then stops at the first
failing example, without shrinking it. Prints a table and the number killed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ("tests/test_differential.py", "tests/test_golden_urban.py", "tests/test_golden_wucheng.py",
         "tests/test_readings.py", "tests/test_readings_amended.py", "tests/test_claims_parsing.py",
         "tests/test_properties.py")
#: Taken from the working tree even when not committed yet: the oracle and the differential test.
OWN = ("tests/oracle.py", "tests/test_differential.py")
TIMEOUT = 900  # seconds for one mutant's tests


@dataclass(frozen=True)
class Mutant:
    key: str
    file: str  #: under core/
    old: str  #: occurs exactly once in the file, within one line
    new: str
    what: str


M = Mutant
MUTANTS = (
    # --- decide.py: eligibility (R1–R4, R27) --------------------------------------------------
    M("D1", "decide.py", 'c["welfare_post"][idx] & ~c.absent["welfare_approval"][idx]', 'c["welfare_post"][idx]',
      "R3: a public-welfare post needs no approval"),
    M("D2", "decide.py", 'area[c["hukou"][idx]] & ~c["monthly_pension"][idx]', 'area[c["hukou"][idx]]',
      "R1: a local 户籍 counts even with a monthly pension"),
    M("D3", "decide.py", 'np.maximum(c["insured_months"][idx], 0) >= (g.min_months',
      'np.maximum(c["insured_months"][idx], 0) > (g.min_months', "R2: insured months > the minimum, not >="),
    M("D4", "decide.py", 'return area[c["residence_permit"][idx]]', 'return area[c["hukou"][idx]]',
      "R1: the residence-permit ground reads the hukou"),
    M("D5", "decide.py", 'return ~c["monthly_pension"][idx]  #', 'return c["monthly_pension"][idx]  #',
      "R4: no_pension holds for pensioners"),
    M("D6", "decide.py", "for gi, g in enumerate(plan.grounds) if kind.key in g.kinds}",
      "for gi, g in enumerate(plan.grounds)}", "a ground limited to some kinds (R3: project) holds for all"),
    M("D7", "decide.py", "for gi in reversed(allowed):", "for gi in allowed:",
      "the last ground that holds is cited, not the first"),
    M("D8", "decide.py", "allowed = [gi for gi in holds if not tests or plan.grounds[gi].test in tests]",
      "allowed = list(holds)", "a programme's grounds do not narrow eligibility"),
    M("D9", "decide.py", 'return (c["groups"][idx] & wanted) != 0', 'return c["groups"][idx] != 0',
      "R27: any target group passes a group ground"),
    M("D10", "decide.py", "outside |= age < plan.age.min_age", "outside |= age <= plan.age.min_age",
      "R27: the youngest age admitted is refused"),
    M("D11", "decide.py", "status[(status == OK) & outside] = AGE_LIMIT", "status[outside] = AGE_LIMIT",
      "R27: age_limit replaces not_eligible"),
    # --- decide.py: refusals, tags (R26), uplifts (R7, R10, R11), top-ups, R24, fund, R25 -------
    M("D12", "decide.py", "own = (status == OK) & (r.refusal > 0)", "own = r.refusal > 0",
      "a kind's refusal (not passed) replaces not_eligible"),
    M("D13", "decide.py", "checked = named & ((tags & bit) != 0)", "checked = (tags & bit) != 0",
      "R26: a tag is checked against its list when no employer is named"),
    M("D14", "decide.py", "    tags = tags & ~dropped", "    tags = tags", "R26: a tag not on its list still holds"),
    M("D15", "decide.py", "ok &= ~r.flat", "pass", "R11: uplifts apply to a flat programme fee"),
    M("D16", "decide.py", "if u.requires_tag is not None:", "if False:",
      "R10: an uplift's requires_tag (self_evaluation) is ignored"),
    M("D17", "decide.py", "if u.organizers:", "if False:", "R10: an uplift's organizers are ignored"),
    M("D18", "decide.py", "if u.apprentices:", "if False:", "annex3.3: an uplift's apprentices are ignored"),
    M("D19", "decide.py", "best = np.where(ok, np.maximum(best, u.rate), best)",
      "best = np.where(ok & (best < 0), u.rate, best)", "R11: the first uplift that applies, not the highest"),
    M("D20", "decide.py", "np.minimum(best, plan.uplift_limit.rate)", "best", "R11: the uplift limit is not applied"),
    M("D21", "decide.py", "no_rate = (r.ref < 0) | plan.no_shortage_list |", "no_rate = (r.ref < 0) |",
      "R7: no shortage list in force is not a row error"),
    M("D22", "decide.py", "gets = (groups & (1 << list(vocab.GROUPS).index(t.group))) != 0", "gets = groups != 0",
      "R27: a top-up for any target group"),
    M("D23", "decide.py", "status[(status == OK) & (amount == 0)] = NOTHING_TO_PAY", "pass",
      "R24: a subsidy of 0 is granted"),
    M("D24", "decide.py", "for fi, rule in reversed(plan.funding):", "for fi, rule in plan.funding:",
      "R16: the last funding rule that matches pays, not the first"),
    M("D25", "decide.py", "            m &= emp >= 0", "            pass",
      "R17: a {employer_region} channel matches with no employer region"),
    M("D26", "decide.py", "status[(status == OK) & (fund < 0)] = NO_FUND", "status[fund < 0] = NO_FUND",
      "no_fund replaces the reason a claim was refused"),
    M("D27", "decide.py", "allowance = np.minimum(allowance, standard.cap)", "pass",
      "R25: the allowance has no cap"),
    M("D28", "decide.py", "np.where(in_group & (allowance > 0), ALLOWANCE_PAID, NO_ALLOWANCE)",
      "np.where(in_group, ALLOWANCE_PAID, NO_ALLOWANCE)", "R25: an allowance of 0 is 'paid'"),
    M("D29", "decide.py", "amount = np.where(refused, 0, amount)", "amount = amount",
      "a refused claim keeps its amount"),
    M("D30", "decide.py", "new = evolve(o, reasons=(*o.reasons, reason),",
      'new = evolve(o, allowance=0, allowance_channel="", reasons=(*o.reasons, reason),',
      "R25: an amount adjustment drops the living allowance"),
    # --- kinds.py: rates and amounts (R5, R8, R9, R12), payees (R14, R15), R16, R19, R23 --------
    M("K1", "kinds.py", "if occ in occ_index:", "if occ in ():", "R6: an occupation's own rate is never used"),
    M("K2", "kinds.py", 'np.where(tags & c.tag_bit("self_evaluation"), 1, 0)',
      'np.where(tags & c.tag_bit("self_evaluation"), 0, 1)', "R14: person and employer swapped"),
    M("K3", "kinds.py", "capped = ~flat & ~review & (raw > cap)", "capped = ~flat & ~review & (raw >= cap)",
      "R8: hours × rate equal to the cap is 'capped'"),
    M("K4", "kinds.py", "short = ~flat & ~review & (hours < t.min_hours[std])",
      "short = ~flat & ~review & (hours <= t.min_hours[std])", "R8: the minimum hours themselves are too few"),
    M("K5", "kinds.py", 'review = ~flat & c["review"][idx] & (t.review_amount[std] >= 0)',
      'review = ~flat & c["review"][idx]', "R9: a review course without a review amount"),
    M("K6", "kinds.py", "np.where(review, t.review_amount[std], np.minimum(raw, cap))",
      "np.where(review, t.review_amount[std], np.maximum(raw, cap))", "R8: max(hours × rate, cap)"),
    M("K7", "kinds.py", 'refusal = np.where(~c["passed"][idx], 1, np.where(short, 2, 0))',
      'refusal = np.where(short, 2, np.where(~c["passed"][idx], 1, 0))', "too few hours checked before passed"),
    M("K8", "kinds.py", "return np.minimum(cost, cap_up), cost > cap_up",
      "return np.maximum(cost, cap_up), cost > cap_up", "R12: max(cost, cap)"),
    M("K9", "kinds.py", "return np.minimum(cost, cap_up), cost > cap_up",
      "return np.minimum(cost, cap_up), cost >= cap_up", "R12: a cost equal to the cap is 'capped'"),
    M("K10", "kinds.py", "cap_up = uplift(r.base, rate_bp)", "cap_up = r.base",
      "annex3.3: an uplift does not raise the apprenticeship cap"),
    M("K11", "kinds.py", "return uplift(r.base, rate_bp)  #", "return r.base  #",
      "R23: the yearly ceiling is not raised by the uplift"),
    M("K12", "kinds.py", 'c["occupation"].astype(np.int64) * 8 + c["level"]', 'c["occupation"].astype(np.int64) * 8',
      "R19: the same occupation at another level is a repeat"),
    M("K13", "kinds.py", 't.of.get("*", -1)', "-1", "main.2: no '*' entrepreneurship entry for other courses"),
    M("K14", "kinds.py", "return np.maximum(r.ref, 0)", "return np.zeros(len(idx), dtype=np.int64)",
      "main.2: every course paid to the first entry's payee"),
    M("K15", "kinds.py", 'np.where(c["organizer"][idx] == vocab.ORGANIZERS.index("enterprise"), 1, 0)',
      "np.zeros(len(idx), dtype=np.int64)", "R15 (amended): an enterprise's project paid to 'organizer'"),
    M("K16", "kinds.py", "        if fill.any():", "        if False:",
      "R16 (amended): a district body's training without employer_region has no fund"),
    # --- limits.py: R18–R20, R23 ------------------------------------------------------------------
    M("L1", "limits.py", "PER_YEAR = 3", "PER_YEAR = 4", "R18: four a year"),
    M("L2", "limits.py", "out[~first_row & ~held] = DUPLICATE", "pass", "R20: a repeated claim id is decided again"),
    M("L3", "limits.py", "first[again] = values.gather(again).is_first_distinct()",
      "first[again] = values.gather(again).is_last_distinct()", "R20: the last row of a claim id is the claim"),
    M("L4", "limits.py", "cand = np.flatnonzero(eligible & (first_row | held))",
      "cand = np.flatnonzero(first_row | held)", "R18/R19: refused claims count"),
    M("L5", "limits.py", 'pos = _ties_by_claim_id(p, order["h"].to_numpy(), d, pos.copy(), claim_id)',
      "pos = pos.copy()", "claims of one date taken in row order, not claim id order"),
    M("L6", "limits.py", '(pl.col("new").sum() > PER_YEAR)', '(pl.col("new").sum() >= PER_YEAR)',
      "a person with exactly 3 new keys in a year is walked"),
    M("L7", "limits.py", '(pl.col("ceil").sum() > 1)', '(pl.col("ceil").sum() > 2)',
      "R23: a person with two apprenticeships in a year is not walked"),
    M("L8", "limits.py", "elif per_year[(p, y)] >= PER_YEAR:", "elif per_year[(p, y)] > PER_YEAR:",
      "R18 in the walk: four a year"),
    M("L9", "limits.py", "            granted.add((p, k))", "            pass",
      "R19 in the walk: a grant is forgotten"),
    M("L10", "limits.py", "elif top >= 0 and spent[(p, y)] >= top:", "elif top >= 0 and spent[(p, y)] > top:",
      "R23/R24: a spent ceiling pays 0 instead of refusing"),
    M("L11", "limits.py", "elif top >= 0 and a > top - spent[(p, y)]:", "elif top >= 0 and a > top:",
      "R23: a later apprenticeship is not held to what is left"),
    M("L12", "limits.py", "                spent[(p, y)] += a", "                pass",
      "R23: what an apprenticeship was paid is not counted"),
    M("L13", "limits.py", "hard_person[person_run[over]] = True", "pass",
      "R23: an apprenticeship raised past its ceiling, alone in its year, keeps the excess"),
    M("L14", "limits.py", "        paid[out != NONE] = 0", "        pass",
      "R20: with no claim eligible, a repeated claim id keeps its amount"),
    # --- columns.py: the contract -----------------------------------------------------------------
    M("C1", "columns.py", "            v = v == 1", "            v = v == 0", "every boolean cell read inverted"),
    M("C2", "columns.py", 'out.append((c["employer_region"] == len(c.regions)',
      'out.append((c["employer_region"] == -2', "employer_region 'other' is accepted"),
    M("C3", "columns.py", "valid = shaped & (_CHECK_VALUE[_id_remainders(np.where(shaped, person, 0))] == last)",
      "valid = shaped", "GB 11643: the check digit is not checked"),
    M("C4", "columns.py", r"(\.[0-9]{{1,2}})?$", r"(\.[0-9]{{1,3}})?$", "R13: an amount to a tenth of a fen is read"),
    M("C5", "columns.py", '"unemployed_region", "insured_months", "monthly_pension"',
      '"unemployed_region", "monthly_pension"', "an unreadable insured_months is read as absent"),
    M("C6", "columns.py", "astype(np.int64) + 1970", "astype(np.int64) + 1969", "calendar years off by one"),
    M("C7", "columns.py", 'cols.bad["employer_id"] = ~_uscc_valid(', 'cols.bad["employer_id"] = _uscc_valid(',
      "GB 32100: valid employer ids refused, invalid ones read"),
    # --- compiled.py and money.py -----------------------------------------------------------------
    M("P1", "compiled.py", "{day_of(e.end) + 1 for e in dated", "{day_of(e.end) for e in dated",
      "a value that ends is still in force the day after"),
    M("P2", "compiled.py", 'self.status = "provisional" if provisional else "official"', 'self.status = "official"',
      "a provisional shortage list makes no decision provisional"),
    M("P3", "compiled.py", "if not r.kinds or kind.key in r.kinds]", "]", "R16: a funding rule's kinds are ignored"),
    M("P4", "compiled.py", "if lst.in_force(on) and lst.tag not in self.lists:", "if lst.tag not in self.lists:",
      "R26: an enterprise list that has ended still checks tags"),
    M("P5", "money.py", "(fen * (BP + rate_bp) + BP // 2) // BP", "(fen * (BP + rate_bp)) // BP",
      "R13: uplifted amounts rounded down, not half-up"),
)


def sh(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout


def export(dest: Path, rev: str, worktree: bool) -> None:
    """The project at ``rev`` and this check's own test files (or the working tree) in ``dest``."""
    dest.mkdir(parents=True)
    if worktree:
        names = sh("git", "ls-files", "-co", "--exclude-standard").splitlines()
    else:
        archive = subprocess.run(["git", "archive", rev], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        names = list(OWN)
    for name in names:
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)


class Slot:
    """A copy of the project, and of the package as installed, for one mutant at a time."""

    def __init__(self, base: Path, where: Path) -> None:
        self.src = where / "src"
        shutil.copytree(base, self.src)
        self.pkg = where / "pkg" / "jinhua_subsidy"
        shutil.copytree(self.src / "core", self.pkg)
        shutil.copytree(self.src / "plugins", self.pkg / "plugins")
        shutil.copytree(self.src / "catalogs", self.pkg / "catalogs")

    def run(self, tests: list[str], seed: str | None, skip: Sequence[str] = (), first: bool = True
            ) -> tuple[int, list[str], float]:
        """Exit code, failing test ids, seconds."""
        shutil.rmtree(self.src / ".hypothesis", ignore_errors=True)
        env = {**os.environ, "PYTHONPATH": str(self.pkg.parent), "SUBSIDY_DISABLE_PLUGIN_AUTOLOAD": "1",
               "SUBSIDY_MUTATION_RUN": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        cmd = [sys.executable, "-m", "pytest", *(["-x"] if first else []), "-q", "-rfE", "-p", "no:cacheprovider",
               "-m", "not xfail", *tests, *(f"--deselect={t}" for t in skip)]
        if seed is not None:
            cmd.append(f"--hypothesis-seed={seed}")
        start = time.perf_counter()
        try:
            p = subprocess.run(cmd, cwd=self.src, env=env, capture_output=True, text=True, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            return -1, ["timeout"], time.perf_counter() - start
        failed = [line.split(" ", 1)[1].split(" - ")[0] for line in p.stdout.splitlines()
                  if line.startswith(("FAILED ", "ERROR "))]
        return p.returncode, failed, time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rev", default="HEAD", help="the revision to mutate (default HEAD)")
    ap.add_argument("--worktree", action="store_true", help="mutate the working tree as it is")
    ap.add_argument("--only", default="", help="comma-separated mutant keys")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", default=None, help="--hypothesis-seed for every run")
    ap.add_argument("--tests", nargs="*", default=list(TESTS))
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    chosen = [m for m in MUTANTS if not args.only or m.key in args.only.split(",")]
    if args.list:
        for m in chosen:
            print(f"{m.key:4} core/{m.file}: {m.what}\n       - {m.old}\n       + {m.new}")
        return 0

    with tempfile.TemporaryDirectory(prefix="mutate-") as tmp:
        base = Path(tmp) / "base"
        export(base, args.rev, args.worktree)
        slots = [Slot(base, Path(tmp) / f"slot{i}") for i in range(max(1, args.jobs))]
        tests = [t for t in args.tests if (base / t).exists()]
        code, skip, secs = slots[0].run(tests, args.seed, first=False)
        if code not in (0, 1) or any("::" not in t for t in skip):
            print(f"the unmutated copy cannot be tested (exit {code}; {', '.join(skip)})", file=sys.stderr)
            return 2
        for t in skip:
            print(f"fails unmutated, left out: {t}")
        print(f"unmutated: {len(tests)} test files pass in {secs:.0f} s; {len(chosen)} mutants, {len(slots)} at a time",
              flush=True)
        free = list(slots)
        lock = threading.Lock()

        def one(m: Mutant) -> tuple[Mutant, str, str, float, int]:
            with lock:
                slot = free.pop()
            try:
                path = slot.pkg / m.file
                text = path.read_text(encoding="utf-8")
                if text.count(m.old) != 1:
                    return m, "not applied", f"{text.count(m.old)} matches", 0.0, 0
                line = text[:text.index(m.old)].count("\n") + 1
                path.write_text(text.replace(m.old, m.new), encoding="utf-8")
                try:
                    code, failed, secs = slot.run(tests, args.seed, skip)
                finally:
                    path.write_text(text, encoding="utf-8")
                verdict = "survived" if code == 0 else "killed" if code > 0 else "killed (timeout)"
                print(f"  {m.key:4} {verdict:9} {secs:5.0f} s  {' '.join(failed)}", flush=True)
                return m, verdict, " ".join(failed), secs, line
            finally:
                with lock:
                    free.append(slot)

        with ThreadPoolExecutor(len(slots)) as pool:
            results = list(pool.map(one, chosen))

    print("\n| mutant | where | mutation | result | first failing test |\n|---|---|---|---|---|")
    for m, verdict, failed, _secs, line in results:
        print(f"| {m.key} | core/{m.file}:{line} | {m.what} | {verdict} | {failed.removeprefix('tests/')} |")
    applied = [r for r in results if r[1] != "not applied"]
    killed = sum(r[1].startswith("killed") for r in applied)
    print(f"\nkilled {killed} of {len(applied)} mutants" + (f" ({len(results) - len(applied)} not applied)"
                                                          if len(applied) < len(results) else ""))
    survivors = [r[0].key for r in applied if r[1] == "survived"]
    if survivors:
        print("survived: " + ", ".join(survivors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
