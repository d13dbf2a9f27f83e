"""The wheel a county installs works on its own: built-in plugins and catalog data included.

Builds a wheel from a clean copy of the repository's sources, installs it (with its
dependencies, from the package index or pip's cache) into a fresh venv, and runs
that venv's ``subsidy`` from a directory outside the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
#: What a source distribution holds: everything the build reads.
SOURCES = ("pyproject.toml", "README.md", "core", "plugins", "catalogs")
BUILTIN = ["dongyang", "urban", "wucheng", "yiwu"]
BIN = "Scripts" if os.name == "nt" else "bin"


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=timeout)


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"{proc.args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def can_build_in_place() -> bool:
    """setuptools new enough for pyproject.toml's build requirement, in this environment."""
    try:
        major = int(metadata.version("setuptools").split(".")[0])
    except metadata.PackageNotFoundError:
        return False
    return major >= 69


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` folder of a fresh venv with the wheel installed."""
    tmp = tmp_path_factory.mktemp("packaging")
    # A clean copy, so stale build/ or *.egg-info folders of the checkout cannot leak in.
    src = tmp / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy2(path, src / name)
    dist = tmp / "dist"
    # In place when this environment can build it; else pip fetches setuptools (isolation).
    isolation = ["--no-build-isolation"] if can_build_in_place() else []
    ok(run(sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "--wheel-dir", dist, src,
           cwd=tmp))
    (wheel,) = dist.glob("jinhua_subsidy-*.whl")

    venv = tmp / "venv"
    ok(run(sys.executable, "-m", "venv", venv, cwd=tmp))
    ok(run(venv / BIN / "python", "-m", "pip", "install", "--quiet", wheel, cwd=tmp))
    return venv / BIN


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A working directory with no repository in sight."""
    here = tmp_path / "elsewhere"
    here.mkdir()
    return here


@pytest.fixture
def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
           and not k.startswith("SUBSIDY_")}
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def test_the_package_is_imported_from_the_venv(installed, outside, clean_env):
    where = ok(run(installed / "python", "-c", "import jinhua_subsidy; print(jinhua_subsidy.__file__)",
                   cwd=outside, env=clean_env)).strip()
    assert Path(where).is_relative_to(installed.parent)
    assert not Path(where).is_relative_to(REPO)


def test_subsidy_plugins_lists_the_four_built_ins(installed, outside, clean_env):
    rows = json.loads(ok(run(installed / "subsidy", "plugins", "--format", "json",
                             cwd=outside, env=clean_env)))
    assert [r["name"] for r in rows] == BUILTIN
    assert all(r["builtin"] and r["distribution"] == "jinhua-subsidy" for r in rows)
    assert {r["name"]: r["regions"] for r in rows} == {k: [k] for k in BUILTIN}
    assert {r["name"]: r["status"] for r in rows} == {
        "urban": "official", "wucheng": "official", "yiwu": "provisional", "dongyang": "provisional",
    }


def test_subsidy_check_passes_on_the_shipped_catalogs(installed, outside, clean_env):
    out = ok(run(installed / "subsidy", "check", "--format", "json", cwd=outside, env=clean_env))
    findings = json.loads(out)
    assert [f for f in findings if f["severity"] == "error"] == []


def test_subsidy_occupations_prints_the_shipped_vocabulary(installed, outside, clean_env):
    out = ok(run(installed / "subsidy", "occupations", cwd=outside, env=clean_env))
    with (REPO / "catalogs" / "occupations.toml").open("rb") as fh:
        expected = [f"{o['code']}\t{o['name']}" for o in tomllib.load(fh)["occupations"]]
    assert out.splitlines() == expected


def test_county_catalog_data_is_shipped(installed, outside, clean_env):
    out = ok(run(installed / "subsidy", "shortage", "yiwu", "--on", "2021-06-01",
                 cwd=outside, env=clean_env))
    with (REPO / "catalogs" / "yiwu.toml").open("rb") as fh:
        (listed,) = tomllib.load(fh)["shortage"]
    assert [line.split("\t")[0] for line in out.splitlines()] == listed["occupations"]
