"""Downloads that work on their own: each R script zipped with its data runs in an empty folder, the
R scripts find their data through DATA_DIR, and the data sets page offers every data file."""

from __future__ import annotations

import html as htmllib
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, require_r
from site_server import SITE

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import lme_bundles  # noqa: E402

from lme_helpers import data  # noqa: E402

SCRIPTS = sorted(p.name for p in (ROOT / "book" / "r").glob("*.R") if p.name not in lme_bundles.LIBRARIES)
HREF = re.compile(r"<a\s[^>]*href=[\"']([^\"']+)[\"']", re.I)


def built_bundle(script: str) -> Path:
    path = SITE / lme_bundles.BUNDLE_DIR / f"{Path(script).stem}.zip"
    if not path.exists():
        pytest.fail(f"{path} was not written: run 'make book' first")
    return path


def unzip(bundle: Path, into: Path) -> Path:
    with zipfile.ZipFile(bundle) as z:
        z.extractall(into)
    (folder,) = list(into.iterdir())
    return folder


def rscript(script: str, cwd: Path, **env) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "DATA_DIR"} | {"LC_ALL": "C.UTF-8"} | env
    return subprocess.run(["Rscript", "--vanilla", script], cwd=cwd, env=environ, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.parametrize("script", SCRIPTS)
def test_bundle_holds_the_script_its_data_and_licences(script):
    path = ROOT / "book" / "r" / script
    wanted = {script, *lme_bundles.helper_files(path), "README.txt", "LICENSE-DATA.md", *lme_bundles.data_files(path)}
    if lme_bundles.student_version(path.read_text(encoding="utf-8")) is not None:
        wanted.add(lme_bundles.student_name(path))  # the practical: a student version beside the solutions
    with zipfile.ZipFile(built_bundle(script)) as z:
        names = {Path(n).name for n in z.namelist()}
        assert names == wanted
        stem = Path(script).stem
        assert z.read(f"{stem}/{script}") == (ROOT / "book" / "r" / script).read_bytes()
        for name in lme_bundles.data_files(ROOT / "book" / "r" / script):
            assert z.read(f"{stem}/{name}") == (data.data_dir() / name).read_bytes(), name
    # the same inputs give the same bytes (a rebuilt site does not change its downloads)
    again = lme_bundles.bundle(ROOT / "book" / "r" / script, ROOT / "data", ROOT / "LICENSE-DATA.md")
    assert again == built_bundle(script).read_bytes()


def test_every_r_script_declares_data_that_exist():
    for script in SCRIPTS:
        names = lme_bundles.data_files(ROOT / "book" / "r" / script)
        assert names and all((ROOT / "data" / n).is_file() for n in names), script


def test_pages_offer_the_bundles_of_the_scripts_they_use():
    offered = 0
    for source in sorted((ROOT / "book").glob("*.md")):
        scripts = lme_bundles.page_scripts(source)
        if not scripts or not (SITE / "book" / f"{source.stem}.html").exists():
            continue
        html = (SITE / "book" / f"{source.stem}.html").read_text(encoding="utf-8")
        links = {htmllib.unescape(h) for h in HREF.findall(html)}
        for script in scripts:
            href = f"../{lme_bundles.BUNDLE_DIR}/{Path(script).stem}.zip"
            assert href in links, f"{source.name} does not offer {href}"
            assert (SITE / "book" / href).resolve().is_file()
            offered += 1
    assert offered >= 9


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_downloaded_bundle_runs_in_an_empty_folder(script, tmp_path):
    require_r()
    folder = unzip(built_bundle(script), tmp_path / "download")
    proc = rscript(script, folder)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Random effects" in proc.stdout or "Groups" in proc.stdout, proc.stdout[-2000:]  # lme4's output


def test_script_reads_its_data_from_data_dir(tmp_path):
    require_r()
    script = "exam_null.R"
    folder = unzip(built_bundle(script), tmp_path / "download")
    elsewhere = tmp_path / "my data"
    elsewhere.mkdir()
    shutil.move(folder / "exam.csv", elsewhere / "exam.csv")
    missing = rscript(script, folder)
    assert missing.returncode != 0 and "exam.csv" in missing.stderr  # the error names the file
    proc = rscript(script, folder, DATA_DIR=str(elsewhere))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ICC:" in proc.stdout


def test_data_page_offers_every_data_file():
    page = SITE / "book" / "datasets.html"
    if not page.exists():
        pytest.fail(f"{page} not built: run 'make book' first")
    links = [htmllib.unescape(h) for h in HREF.findall(page.read_text(encoding="utf-8"))]
    downloads = {Path(h).name: (page.parent / h).resolve() for h in links if "_downloads/" in h}
    listed = [line.split(maxsplit=1)[1] for line in (ROOT / "data" / "SHA256SUMS").read_text().splitlines()]
    for name in [*listed, "SHA256SUMS"]:
        base = Path(name).name
        assert base in downloads, f"the data sets page offers no download of {name}"
        assert downloads[base].read_bytes() == (ROOT / "data" / name).read_bytes(), name
    for ds in data.DATASETS.values():
        assert ds.file in downloads, ds.name
