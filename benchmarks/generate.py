"""Deterministic generator of claims files for the benchmarks (docs/claims.md contract).

    python benchmarks/generate.py 1000000                # → benchmarks/data/claims-1000000.csv
    python benchmarks/generate.py 100000 --seed 7 --out /tmp/c.csv

The mix: every kind (about 60% qualification, 30% project, 10% apprenticeship);
regions urban, wucheng, jindong, kaifaqu, yiwu, dongyang; 200 occupations of
catalogs/occupations.toml (every shortage occupation among them); dates from 2020
to 2023, across the 2021-12-31 end of the enterprise uplift (R10); people with 1–6
claims each, so R18–R20 bite; a few repeated claim ids (R20); and 0.1% invalid
rows (bad check digit, unknown region, bad date, a missing column, an unknown
occupation, a date before 2020-01-07 that no catalog covers).

The same N and seed always give the same bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import polars as pl

from jinhua_subsidy.claims import COLUMNS
from jinhua_subsidy.engine import Engine
from jinhua_subsidy.manager import get_plugin_manager

REGIONS = ("urban", "wucheng", "jindong", "kaifaqu", "yiwu", "dongyang")
REGION_WEIGHTS = (0.15, 0.2, 0.15, 0.1, 0.25, 0.15)
#: 居民身份证 area codes (GB/T 2260) of each region: 市辖区, 婺城区, 金东区, 开发区 (婺城), 义乌市, 东阳市.
AREA_CODES = ("330701", "330702", "330703", "330702", "330782", "330783")
KINDS = ("qualification", "project", "apprenticeship")
KIND_WEIGHTS = (0.6, 0.3, 0.1)
LEVELS = ("1", "2", "3", "4", "5", "S")
LEVEL_WEIGHTS = (0.03, 0.07, 0.2, 0.3, 0.3, 0.1)
ORGANIZERS = ("enterprise", "department", "institution", "college")
ORGANIZER_WEIGHTS = (0.5, 0.15, 0.25, 0.1)
TAGS = ("trade_friction", "key_manufacturing", "city_soe", "self_evaluation")
GROUP_KEYS = ("poverty_household", "hard_to_employ", "veteran", "unemployed", "lianghou_rural", "farmer")
WUCHENG_PROGRAMMES = ("WC2020-NCJZGJ", "WC2020-YLHLY", "WC2020-TYJR", "WC2020-AQGL")
N_OCCUPATIONS = 200
FIRST_DAY = dt.date(2020, 1, 7)
LAST_DAY = dt.date(2023, 12, 31)
INVALID_SHARE = 0.001
DUPLICATE_SHARE = 0.0005
_WEIGHTS = np.array((7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2))
_CHECK = np.array(list("10X98765432"))


def occupations() -> list[str]:
    """200 vocabulary codes: every shortage occupation of the regions first, then the vocabulary in order."""
    engine = Engine(get_plugin_manager(autoload=False))
    short: list[str] = []
    for region in REGIONS:
        for s in engine.rulebook.rules(region).shortage:
            short += [c for c in s.occupations if c not in short]
    rest = [o.code for o in engine.vocabulary.occupations if o.code not in short]
    return (short + rest)[:N_OCCUPATIONS]


def pick(rng: np.random.Generator, values: tuple[str, ...] | list[str], n: int,
         p: tuple[float, ...] | np.ndarray | None = None) -> pl.Series:
    return pl.Series(list(values), dtype=pl.String).gather(rng.choice(len(values), n, p=p))


def where(mask: np.ndarray | pl.Series, then: pl.Series | str | None, otherwise: pl.Series | str | None
          ) -> pl.Series:
    """``then`` where ``mask`` holds, else ``otherwise`` (a string column; None: empty cell)."""
    def lit(v: pl.Series | str | None) -> pl.Expr | pl.Series:
        return v if isinstance(v, pl.Series) else pl.lit(v, dtype=pl.String)

    return pl.select(pl.when(pl.Series(mask)).then(lit(then)).otherwise(lit(otherwise))).to_series()


def person_ids(home: np.ndarray) -> np.ndarray:
    """Distinct valid 18-digit ids (GB 11643 check digit), one per person."""
    k = np.arange(len(home))
    birth = np.datetime64("1960-01-01") + (k % 16000).astype("timedelta64[D]")
    ymd = np.char.replace(np.datetime_as_string(birth), "-", "")
    first17 = np.char.add(np.char.add(np.array(AREA_CODES)[home], ymd),
                          np.char.zfill(((k // 16000) % 1000).astype(str), 3))
    digits = np.frombuffer("".join(first17.tolist()).encode(), dtype=np.uint8).reshape(-1, 17) - 48
    return np.char.add(first17, _CHECK[(digits @ _WEIGHTS) % 11])


def generate(n: int, seed: int = 20200107) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    # People: a home region, and 1–6 claims each.
    counts = rng.choice(np.arange(1, 7), size=n, p=(0.25, 0.2, 0.2, 0.15, 0.1, 0.1))
    n_people = int(np.searchsorted(np.cumsum(counts), n)) + 1
    home = rng.choice(len(REGIONS), n_people, p=REGION_WEIGHTS)
    pids = person_ids(home)
    person = rng.permutation(np.repeat(np.arange(n_people), counts[:n_people])[:n])
    home_c = home[person]

    region_idx = np.where(rng.random(n) < 0.85, home_c, rng.choice(len(REGIONS), n, p=REGION_WEIGHTS))
    region_s = pl.Series(REGIONS).gather(region_idx)
    home_s = pl.Series(REGIONS).gather(home_c)
    kind = pick(rng, KINDS, n, KIND_WEIGHTS)
    days = (LAST_DAY - FIRST_DAY).days + 1
    date = pl.Series((np.datetime64(FIRST_DAY.isoformat()) + rng.integers(0, days, n)
                      .astype("timedelta64[D]")).astype(str))
    occ = occupations()
    zipf = 1.0 / np.arange(1, len(occ) + 1) ** 0.8
    is_q, is_p, is_a = (kind == "qualification"), (kind == "project"), (kind == "apprenticeship")
    null = pl.lit(None, dtype=pl.String)

    organizer = pick(rng, ORGANIZERS, n, ORGANIZER_WEIGHTS)
    body = organizer.is_in(["department", "college"])
    project_code = pl.Series([f"P{r}-{c:04d}" for r, c in zip(rng.choice(len(REGIONS), n), rng.integers(0, 3000, n),
                                                              strict=True)])
    programme = (region_s == "wucheng") & (pl.Series(rng.random(n)) < 0.1)
    project_code = where(programme, pick(rng, WUCHENG_PROGRAMMES, n), project_code)
    tags = pl.Series([";".join(TAGS[i] for i in range(4) if m >> i & 1) or None
                      for m in np.where(rng.random(n) < 0.7, 0, rng.integers(1, 16, n))], dtype=pl.String)
    insured_months = pl.Series(rng.integers(0, 121, n).astype(str))
    # An employer is insured in a district or county, never in 市区 as a whole (R16).
    district = pick(rng, ("wucheng", "jindong", "kaifaqu"), n)
    local = pl.select(pl.when(region_s == "urban").then(district).otherwise(region_s)).to_series()
    anywhere = pick(rng, REGIONS, n)
    anywhere = pl.select(pl.when(anywhere == "urban").then(district).otherwise(anywhere)).to_series()
    employer_region = where(rng.random(n) < 0.9, local, anywhere)
    # Target groups of main.2 for some (the living allowance, R25), with their training days.
    groups = pl.Series([None if g < 0 else GROUP_KEYS[g] for g in np.where(rng.random(n) < 0.08,
                                                                         rng.integers(0, len(GROUP_KEYS), n), -1)],
                       dtype=pl.String)
    training_days = where(groups.is_not_null(), pl.Series(rng.integers(1, 31, n).astype(str)), None)
    cost = pl.Series([f"{c // 100}.{c % 100:02d}" for c in rng.integers(50000, 800001, n)])

    df = pl.DataFrame({
        "claim_id": pl.Series([f"C{i:08d}" for i in range(n)]),
        "person_id": pl.Series(pids[person]),
        "region": region_s,
        "kind": kind,
        "date": date,
        "occupation": pl.Series(occ).gather(rng.choice(len(occ), n, p=zipf / zipf.sum())),
        "level": pick(rng, LEVELS, n, LEVEL_WEIGHTS),
        "project_code": project_code,
        "organizer": organizer,
        "organizer_level": pick(rng, ("city", "district"), n),
        "hours": pl.Series(rng.integers(8, 81, n).astype(str)),
        "passed": where(rng.random(n) < 0.92, "true", "false"),
        "review": where(rng.random(n) < 0.05, "true", "false"),
        "employer_tags": tags,
        "employer_region": employer_region,
        "apprentice": pick(rng, ("employee", "student"), n, (0.7, 0.3)),
        "cost": cost,
        "hukou": where(rng.random(n) < 0.8, home_s, "other"),
        "residence_permit": where(rng.random(n) < 0.3, home_s, None),
        "insured_region": where(rng.random(n) < 0.7, home_s, "other"),
        "insured_months": insured_months,
        "unemployed_region": where(rng.random(n) < 0.05, home_s, None),
        "monthly_pension": where(rng.random(n) < 0.03, "true", "false"),
        "welfare_post": where(rng.random(n) < 0.01, "true", None),
        "welfare_approval": where(rng.random(n) < 0.01, "婺人社审〔2020〕5号", None),
        "groups": groups,
        "training_days": training_days,
    })
    # Columns a kind does not use are left empty, as a real export would.
    df = df.with_columns(
        *(pl.when(is_q).then(pl.col(c)).otherwise(null) for c in ("occupation", "level")),
        *(pl.when(is_p).then(pl.col(c)).otherwise(null)
          for c in ("project_code", "organizer", "hours", "passed", "review")),
        pl.when(is_p & body).then(pl.col("organizer_level")).otherwise(null).alias("organizer_level"),
        *(pl.when(is_a).then(pl.col(c)).otherwise(null) for c in ("apprentice", "cost")),
        pl.when(is_q).then(null).otherwise(pl.col("employer_region")).alias("employer_region"),
    )
    # R20: a few claim ids submitted twice.
    dup = rng.choice(n, int(n * DUPLICATE_SHARE), replace=False)
    ids = df["claim_id"].to_numpy().copy()
    ids[dup] = ids[rng.choice(n, len(dup))]
    df = df.with_columns(claim_id=pl.Series(ids))
    return spoil(df, rng)


def spoil(df: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """0.1% invalid rows, one defect each."""
    n = df.height
    rows = rng.choice(n, max(1, int(n * INVALID_SHARE)), replace=False)
    defect = rng.integers(0, 6, len(rows))
    cols = {c: df[c].to_list() for c in ("person_id", "region", "date", "kind", "occupation", "level")}
    for r, d in zip(rows.tolist(), defect.tolist(), strict=True):
        if d == 0:  # bad check digit
            pid = cols["person_id"][r]
            cols["person_id"][r] = pid[:17] + ("0" if pid[17] != "0" else "1")
        elif d == 1:
            cols["region"][r] = "shanghai"
        elif d == 2:
            cols["date"][r] = "2021-02-30"
        elif d == 3:
            cols["date"][r] = None
        elif d == 4:  # an unknown occupation (made a qualification claim)
            cols["kind"][r], cols["occupation"][r], cols["level"][r] = "qualification", "9-99-99-99", "4"
        else:  # before 2020-01-07: no catalog covers it (no rate is never 0)
            cols["date"][r] = "2019-12-20"
    return df.with_columns(**{c: pl.Series(v, dtype=pl.String) for c, v in cols.items()}).select(
        [c for c in COLUMNS if c in df.columns])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, help="number of claims")
    ap.add_argument("--seed", type=int, default=20200107)
    ap.add_argument("--out", type=Path, help="default: benchmarks/data/claims-N.csv (.jsonl with --format jsonl)")
    ap.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    args = ap.parse_args(argv)
    out = args.out or Path(__file__).parent / "data" / f"claims-{args.n}.{args.format}"
    out.parent.mkdir(parents=True, exist_ok=True)
    df = generate(args.n, args.seed)
    if args.format == "csv":
        df.write_csv(out)
    else:
        df.write_ndjson(out)
    print(f"{out}: {df.height} claims", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
