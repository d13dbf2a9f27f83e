"""``subsidy new-plugin lanxi`` writes a distribution that, right after, installs, checks and tests
green in a fresh venv: ``pip install ./jinhua-subsidy-lanxi``, ``subsidy check``, ``pytest``.

The venv is made with ``python -m venv --system-site-packages`` from the running interpreter;
when that interpreter is itself a venv (tox's, CI's), a ``.pth`` file adds this environment's
site-packages, so jinhua-subsidy, pytest and setuptools are there without a download. The
scaffold is installed with ``--no-deps --no-build-isolation`` for the same reason.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from click.testing import CliRunner

from jinhua_subsidy.cli import main

BIN = "Scripts" if os.name == "nt" else "bin"
SUBSIDY = "import sys; from jinhua_subsidy.cli import main; sys.exit(main())"


def run(*args: str | Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                          encoding="utf-8", timeout=120)


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"{proc.args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a fresh venv that sees this environment's packages."""
    root = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(root)],
                   check=True, timeout=120)
    python = root / BIN / "python"
    if sys.prefix != sys.base_prefix:  # running in a venv: --system-site-packages would skip it
        target = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                capture_output=True, text=True, check=True).stdout.strip()
        ours = [*site.getsitepackages(), sysconfig.get_paths()["purelib"]]
        lines = [f"import site; site.addsitedir({p!r})" for p in dict.fromkeys(ours)]
        Path(target, "_outer_env.pth").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return python


@pytest.fixture
def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV") and not k.startswith(("SUBSIDY_", "PYTEST_"))}
    env["PYTHONIOENCODING"] = "utf-8"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.fixture
def scaffold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SUBSIDY_DISABLE_PLUGIN_AUTOLOAD", "1")
    folder = tmp_path / "jinhua-subsidy-lanxi"
    result = CliRunner().invoke(main, ["new-plugin", "lanxi", "--dir", str(folder)])
    assert result.exit_code == 0, result.output
    return folder


def test_new_plugin_writes_a_distribution(scaffold):
    files = sorted(p.relative_to(scaffold).as_posix() for p in scaffold.rglob("*") if p.is_file())
    assert files == [".github/workflows/subsidy.yml", ".gitignore", "README.md", "cases/lanxi.toml",
                     "pyproject.toml", "src/jinhua_lanxi/__init__.py", "src/jinhua_lanxi/lanxi.toml",
                     "tests/test_lanxi.py"]
    catalog = (scaffold / "src/jinhua_lanxi/lanxi.toml").read_text(encoding="utf-8")
    assert 'inherits = "urban"' in catalog and "[[qualification]]" not in catalog.replace("# [[", "")
    assert 'lanxi = "jinhua_lanxi:plugin"' in (scaffold / "pyproject.toml").read_text(encoding="utf-8")


def test_it_installs_checks_and_tests_green_in_a_fresh_venv(scaffold, venv, clean_env, tmp_path):
    ok(run(venv, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", scaffold,
           cwd=tmp_path, env=clean_env))
    plugins = ok(run(venv, "-c", SUBSIDY, "plugins", cwd=scaffold, env=clean_env))
    assert "lanxi 0.1.0  external (jinhua-subsidy-lanxi)  status: provisional 暂定" in plugins
    check = ok(run(venv, "-c", SUBSIDY, "check", cwd=scaffold, env=clean_env))
    assert check.splitlines()[-1] == "0 项不符合，1 项提示"
    tests = ok(run(venv, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=scaffold, env=clean_env))
    assert "4 passed" in tests  # two tests, two cases

    # The kit's checks and cases name the author's files, not the installed copy.
    catalog = scaffold / "src/jinhua_lanxi/lanxi.toml"
    catalog.write_text(catalog.read_text(encoding="utf-8").replace(
        '[[funding.rules]]\nkinds = ["qualification"]\nchannel = "county:lanxi"',
        '[[funding.rules]]\nkinds = ["qualification"]\nchannel = "county:lanxii"'), encoding="utf-8")
    ok(run(venv, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", scaffold,
           cwd=tmp_path, env=clean_env))
    proc = run(venv, "-c", SUBSIDY, "check", "--format", "github", cwd=scaffold, env=clean_env)
    assert proc.returncode == 1
    assert proc.stdout.startswith("::error file=src/jinhua_lanxi/lanxi.toml,line=")
    assert "资金渠道 county:lanxii 不存在" in proc.stdout
    proc = run(venv, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=scaffold, env=clean_env)
    assert proc.returncode == 1
    assert "cases/lanxi.toml" in proc.stdout and "不予计算" in proc.stdout  # the guard: claims not decided


def test_new_plugin_refuses_what_it_cannot_write(scaffold, tmp_path):
    result = CliRunner().invoke(main, ["new-plugin", "lanxi", "--dir", str(scaffold)])
    assert result.exit_code == 2 and "已存在且不为空" in result.stderr
    result = CliRunner().invoke(main, ["new-plugin", "wucheng", "--dir", str(tmp_path / "w")])
    assert result.exit_code == 2 and "已由插件 wucheng（jinhua-subsidy）服务" in result.stderr
    result = CliRunner().invoke(main, ["new-plugin", "shiyan", "--dir", str(tmp_path / "s")])
    assert result.exit_code == 2 and "--name" in result.stderr
    result = CliRunner().invoke(main, ["new-plugin", "Lan-Xi", "--dir", str(tmp_path / "s")])
    assert result.exit_code == 2 and "小写字母" in result.stderr


def test_a_district_inherits_its_sections(tmp_path, monkeypatch):
    monkeypatch.setenv("SUBSIDY_DISABLE_PLUGIN_AUTOLOAD", "1")
    folder = tmp_path / "jd"
    result = CliRunner().invoke(main, ["new-plugin", "jindong", "--dir", str(folder)])
    assert result.exit_code == 0, result.output
    catalog = (folder / "src/jinhua_jindong/jindong.toml").read_text(encoding="utf-8")
    assert 'parent = "urban"' in catalog and "inherits" not in catalog.split("[catalog]")[1].split("title")[0]
    assert "[eligibility]" not in catalog and "[funding]" not in catalog


def test_a_new_region_with_a_name_and_another_parent(tmp_path, monkeypatch):
    monkeypatch.setenv("SUBSIDY_DISABLE_PLUGIN_AUTOLOAD", "1")
    folder = tmp_path / "x"
    result = CliRunner().invoke(main, ["new-plugin", "hengdian", "--name", "横店镇", "--parent", "dongyang",
                                       "--dir", str(folder)])
    assert result.exit_code == 0, result.output
    catalog = (folder / "src/jinhua_hengdian/hengdian.toml").read_text(encoding="utf-8")
    assert 'name = "横店镇"' in catalog and 'inherits = "dongyang"' in catalog
