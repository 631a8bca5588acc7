"""lme_helpers as an installable package: its wheel, built with ``python -m build``, installed in a
fresh virtual environment outside the repository, fits a model on the data it carries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT
from site_server import copy_repository

import lme_helpers as lh

pytestmark = pytest.mark.slow

USE = r"""
import json, sys, warnings
import lme_helpers as lh
from lme_helpers import charts, rbridge  # charts and the R bridge import without the repository
warnings.simplefilter("ignore")
exam = lh.data.load("exam")
model = lh.fit("normexam ~ 1 + (1 | school)", exam)
shapes = {name: list(lh.data.load(name).shape) for name in lh.data.DATASETS}
print(json.dumps({"file": lh.__file__, "data_dir": str(lh.data.data_dir()), "icc": lh.icc(model),
                  "loglik": model.loglik, "shapes": shapes, "version": lh.__version__,
                  "r_status": isinstance(rbridge.r_status().available, bool), "chart": hasattr(charts, "caterpillar")}))
"""


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """``python -m build`` (an sdist, then the wheel built from it) on a copy of the repository."""
    repo = copy_repository(tmp_path_factory.mktemp("wheel") / "repo")
    out = repo.parent / "dist"
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(repo)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def the_wheel(dist: Path) -> Path:
    wheels = sorted(dist.glob("lme_helpers-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_carries_the_data_with_checksums_and_licences(dist):
    wheel = the_wheel(dist)
    assert wheel.name == f"lme_helpers-{lh.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        sums = z.read("lme_helpers/_data/SHA256SUMS").decode()
        metadata = z.read(f"lme_helpers-{lh.__version__}.dist-info/METADATA").decode()
        for line in sums.splitlines():
            digest, name = line.split(maxsplit=1)
            assert f"lme_helpers/_data/{name}" in names, name
            assert z.read(f"lme_helpers/_data/{name}") == (ROOT / "data" / name).read_bytes(), name
    assert sums == (ROOT / "data" / "SHA256SUMS").read_text()
    assert "lme_helpers/_data/README.md" in names
    assert not any(n.startswith("lme_helpers/_data/scripts") for n in names)
    assert {f"lme_helpers-{lh.__version__}.dist-info/licenses/{f}" for f in ("LICENSE", "LICENSE-DATA.md")} <= names
    assert "License-Expression: MIT AND GPL-2.0-or-later AND OGL-UK-3.0" in metadata
    assert "Classifier: Programming Language :: Python :: 3.11" in metadata
    assert f"Version: {lh.__version__}" in metadata
    sdist = sorted(dist.glob("lme_helpers-*.tar.gz"))
    assert len(sdist) == 1


def test_data_are_not_duplicated_in_git():
    tracked = subprocess.run(["git", "ls-files", "lme_helpers"], cwd=ROOT, capture_output=True, text=True)
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    assert not [f for f in tracked.stdout.split() if f.startswith("lme_helpers/_data")]


def test_installed_wheel_fits_a_model_outside_the_repository(dist, tmp_path):
    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # the dependencies at the book's pinned versions (pip's cache usually holds them)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    str(the_wheel(dist)), "-c", str(ROOT / "requirements.txt")], check=True, timeout=1200,
                   capture_output=True)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "LME_HELPERS_DATA", "VIRTUAL_ENV", "LME_BOOK_BUILD")}
    proc = subprocess.run([str(python), "-c", USE], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    site = Path(got["file"]).parent
    assert str(env_dir) in got["file"] and not got["file"].startswith(str(ROOT))
    assert Path(got["data_dir"]) == site / "_data"
    model = lh.fit("normexam ~ 1 + (1 | school)", lh.data.load("exam"), warn=False)  # the same, from the clone
    assert got["icc"] == pytest.approx(lh.icc(model), rel=1e-6)
    assert got["loglik"] == pytest.approx(model.loglik, rel=1e-9)
    assert set(got["shapes"]) == set(lh.data.DATASETS) and got["shapes"]["england_ks4"] == [2967, 37]
    assert got["version"] == lh.__version__ and got["r_status"] and got["chart"]
