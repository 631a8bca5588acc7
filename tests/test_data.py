"""Shipped data sets, checksums, regeneration, and the DfE file reader."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, require_r

import lme_helpers as lh
from lme_helpers import data

FIXTURE = ROOT / "tests" / "fixtures" / "ks4_sample.csv"


@pytest.mark.parametrize("name, shape", [("exam", (4059, 10)), ("sleepstudy", (180, 3)), ("penicillin", (144, 3)),
                                         ("pastes", (60, 4))])
def test_real_datasets_load_with_r_levels(name, shape):
    frame = data.load(name)
    assert frame.shape == shape


def test_exam_levels_follow_r():
    exam = data.load("exam")
    assert list(exam.schgend.cat.categories) == ["mixed", "boys", "girls"]
    assert list(exam.school.cat.categories[:3]) == ["1", "2", "3"]
    assert exam.school.nunique() == 65


def test_england_schools_shape_and_labels():
    eng = data.load("england_schools")
    assert 2900 <= len(eng) <= 3200
    assert eng.LANAME.nunique() == 151 and eng.gor_name.nunique() == 9
    assert eng.URN.map(type).eq(str).all()
    assert eng.SCHNAME.str.startswith("Synthetic School").all()
    assert list(eng.OFSTEDRATING.cat.categories)[0] == "Outstanding"


def test_checksum_file_matches_files():
    listed = dict(reversed(line.split()) for line in (ROOT / "data/SHA256SUMS").read_text().splitlines())
    for name, digest in listed.items():
        assert hashlib.sha256((ROOT / "data" / name).read_bytes()).hexdigest() == digest, name


def test_readme_lists_each_checksum():
    readme = (ROOT / "data" / "README.md").read_text()
    for line in (ROOT / "data/SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert digest in readme, f"data/README.md does not list the checksum of {name}"


def test_corrupted_file_gives_clear_error(tmp_path, monkeypatch):
    for f in (ROOT / "data").iterdir():
        if f.is_file():
            shutil.copy(f, tmp_path / f.name)
    with open(tmp_path / "exam.csv", "a") as fh:
        fh.write('"1",9.9,"mixed",0.1,"mid 50%","mid 50%",0.1,"F","Mxd","999"\n')
    monkeypatch.setenv("LME_HELPERS_DATA", str(tmp_path))
    with pytest.raises(data.DataIntegrityError, match="exam.csv has been changed or corrupted"):
        data.load("exam")
    (tmp_path / "pastes.csv").unlink()
    with pytest.raises(data.DataIntegrityError, match="pastes.csv is missing"):
        data.load("pastes")


def test_unknown_dataset_name():
    with pytest.raises(KeyError, match="Unknown data set 'exams'"):
        data.load("exams")


def test_england_regeneration_reproduces_the_same_bytes(tmp_path):
    script = ROOT / "data" / "scripts" / "make_england_schools.py"
    copy = tmp_path / "scripts" / script.name
    copy.parent.mkdir()
    shutil.copy(script, copy)
    subprocess.run([sys.executable, str(copy)], check=True, capture_output=True, cwd=tmp_path)
    for name in ("england_schools_synthetic.csv", "england_schools_truth.json"):
        assert (tmp_path / name).read_bytes() == (ROOT / "data" / name).read_bytes(), name


def test_r_export_reproduces_the_same_checksums(tmp_path):
    require_r()
    status = subprocess.run(["Rscript", "-e", "quit(status = !requireNamespace('mlmRev', quietly = TRUE))"])
    if status.returncode != 0:
        pytest.skip("R package mlmRev is not installed (Debian: r-cran-mlmrev); the Exam export cannot be re-run")
    (tmp_path / "data").mkdir()
    subprocess.run(["Rscript", "--vanilla", str(ROOT / "data/scripts/export_r_datasets.R")], cwd=tmp_path, check=True,
                   capture_output=True)
    for name in ("exam.csv", "sleepstudy.csv", "penicillin.csv", "pastes.csv", "levels.json"):
        assert (tmp_path / "data" / name).read_bytes() == (ROOT / "data" / name).read_bytes(), name


def test_synthetic_truth_is_recovered(england):
    truth = json.loads((ROOT / "data" / "england_schools_truth.json").read_text())
    m = lh.fit("log_att8 ~ log_fsm + log_abs + LA_TUTORING + LA_OFFICERS + LA_EARLY_YEARS + (1 | LANAME)",
               england, warn=False)
    fe = m.fixed_effects()
    for term, key in [("log_fsm", "b_log_fsm"), ("log_abs", "b_log_abs"), ("LA_TUTORING", "b_tutoring"),
                      ("LA_OFFICERS", "b_officers"), ("LA_EARLY_YEARS", "b_early_years")]:
        z = (fe.loc[term, "estimate"] - truth[key]) / fe.loc[term, "std_error"]
        assert abs(z) < 3.5, (term, fe.loc[term, "estimate"], truth[key])
    vc = m.variance_components().set_index("group").variance
    assert vc["Residual"] == pytest.approx(truth["var_school"], rel=0.15)
    # authority-level variance: intercept, slope variation and region effects all land here
    la_total = truth["var_la"] + truth["var_region"]
    assert 0.4 * la_total < vc["LANAME"] < 2.0 * la_total


# ----- the DfE reader -----------------------------------------------------------------


def load_fixture(**kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = data.load_school_performance(FIXTURE, **kwargs)
    return frame, [str(w.message) for w in caught]


def test_dfe_reader_decodes_codes_and_percentages():
    frame, messages = load_fixture(drop_missing=())
    assert "URN" in frame and frame.URN.map(type).eq(str).all()
    alpha = frame.set_index("URN").loc["100001"]
    assert alpha.PTFSM6CLA1A == 21.0 and alpha.PNUMEAL == 12.5 and alpha.ATT8SCR == 48.2
    beta = frame.set_index("URN").loc["100002"]
    assert np.isnan(beta.ATT8SCR) and np.isnan(beta.PTFSM6CLA1A) and np.isnan(beta.PNUMEAL)
    assert beta.TOTPUPS == 1050
    eps = frame.set_index("URN").loc["100005"]
    assert np.isnan(eps.ATT8SCR) and np.isnan(eps.P8MEA) and np.isnan(eps.PERCTOT) and np.isnan(eps.PNUMEAL)
    zeta = frame.set_index("URN").loc["100006"]
    assert np.isnan(zeta.P8MEA) and np.isnan(zeta.PTFSM6CLA1A) and np.isnan(zeta.PERCTOT) and np.isnan(zeta.PNUMEAL)
    assert pd.isna(frame.set_index("URN").loc["100005", "OFSTEDRATING"])
    assert "special school: 1" in messages[0] and "no URN (summary rows): 1" in messages[0]


def test_every_suppression_code_becomes_missing():
    for code in data.SUPPRESSION_CODES:
        s = data._to_number(pd.Series(["1.5", code], name="ATT8SCR"))
        assert s.iloc[0] == 1.5 and np.isnan(s.iloc[1]), code


def test_dfe_reader_reports_dropped_rows():
    frame, messages = load_fixture()
    assert len(frame) == 3  # 7 schools, one special, three without ATT8SCR
    assert frame.attrs["dropped"] == {"no URN (summary rows)": 1, "special school": 1, "missing ATT8SCR": 3}
    assert "Read 8 rows" in messages[0] and "dropped 5" in messages[0]


def test_dfe_reader_keeps_special_schools_on_request():
    frame, _ = load_fixture(drop_special=False, drop_missing=())
    assert "100004" in set(frame.URN)


def test_dfe_reader_names_missing_required_column(tmp_path):
    bad = tmp_path / "bad.csv"
    pd.read_csv(FIXTURE, dtype=str).drop(columns=["PERCTOT"]).to_csv(bad, index=False)
    with pytest.raises(ValueError, match="Required column 'PERCTOT' not found"):
        data.load_school_performance(bad)


def test_dfe_reader_rejects_unknown_text_in_numeric_column(tmp_path):
    bad = tmp_path / "bad.csv"
    frame = pd.read_csv(FIXTURE, dtype=str, keep_default_na=False)
    frame.loc[0, "ATT8SCR"] = "about 40"
    frame.to_csv(bad, index=False)
    with pytest.raises(ValueError, match="Column 'ATT8SCR' has values that are neither numbers nor DfE codes"):
        data.load_school_performance(bad)


def test_synthetic_file_reads_with_the_dfe_reader():
    frame, messages = load_fixture()
    eng_path = ROOT / "data" / "england_schools_synthetic.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eng = data.load_school_performance(eng_path)
    assert len(eng) == data.load("england_schools").ATT8SCR.notna().sum()
    assert Path(eng_path).exists() and messages
