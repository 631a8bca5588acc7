"""Shipped data sets, checksums, regeneration, and the DfE file reader."""

from __future__ import annotations

import hashlib
import io
import json
import re
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
    eng_path = ROOT / "data" / "england_schools_synthetic.csv"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        eng = data.load_school_performance(eng_path)
    plain = data.load("england_schools")
    n, missing = len(plain), int(plain.ATT8SCR.isna().sum())
    assert missing > 0 and len(eng) == n - missing
    assert [str(w.message) for w in caught] == [
        f"Read {n} rows from {eng_path.name}; dropped {missing} (missing ATT8SCR: {missing})."]
    assert all(issubclass(w.category, lh.DataWarning) for w in caught)
    assert eng.attrs["dropped"] == {"missing ATT8SCR": missing}
    kept = plain[plain.ATT8SCR.notna()].reset_index(drop=True)
    for col in ("URN", "LEA", "ATT8SCR", "P8MEA", "PTFSM6CLA1A", "PERCTOT", "PNUMEAL", "TOTPUPS"):
        pd.testing.assert_series_equal(eng[col], kept[col], check_dtype=False, check_names=False, obj=col)


def test_synthetic_file_is_what_simulate_schools_draws():
    """The shipped synthetic file is simulate_schools' output with its seed (in-process, so a changed
    generator fails here quickly, not only in the regeneration test)."""
    from lme_helpers.simulation import SCHOOLS_TRUTH, simulate_schools

    sim, truth = simulate_schools(seed=20230901)
    shipped = pd.read_csv(ROOT / "data" / "england_schools_synthetic.csv", dtype={"URN": str, "LEA": str})
    written = pd.read_csv(io.StringIO(sim.to_csv(index=False, lineterminator="\n", float_format="%.6g")),
                          dtype={"URN": str, "LEA": str})
    pd.testing.assert_frame_equal(written, shipped)
    stored = json.loads((ROOT / "data" / "england_schools_truth.json").read_text())
    for key, value in SCHOOLS_TRUTH.items():
        assert truth[key] == stored[key] == value, key
    assert truth["n_schools"] == len(shipped) and truth["n_la"] == shipped.LANAME.nunique() == 151
    assert truth["la_effects"] == pytest.approx(stored["la_effects"])
    assert truth["region_effects"] == pytest.approx(stored["region_effects"])


# ----- checksums ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(data.DATASETS))
def test_every_data_set_is_verified_against_its_listed_checksum(name):
    path = data.verify(name)
    listed = dict(reversed(line.split()) for line in (ROOT / "data/SHA256SUMS").read_text().splitlines())
    assert path == data.data_dir() / data.DATASETS[name].file
    assert data.sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest() == listed[path.name]


def _data_copy(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(ROOT / "data", folder, ignore=shutil.ignore_patterns("scripts", "*_metadata"))
    monkeypatch.setenv("LME_HELPERS_DATA", str(folder))
    return folder


@pytest.mark.parametrize("name", ["exam", "sleepstudy", "england_schools"])
def test_one_changed_byte_is_refused(tmp_path, monkeypatch, name):
    folder = _data_copy(tmp_path, monkeypatch)
    assert data.data_dir() == folder and len(data.load(name)) > 0  # the copy itself loads
    path = folder / data.DATASETS[name].file
    raw = bytearray(path.read_bytes())
    i = len(raw) // 2
    raw[i] = ord("7") if raw[i] != ord("7") else ord("8")  # one digit in the middle of the file
    path.write_bytes(bytes(raw))
    with pytest.raises(data.DataIntegrityError, match=rf"{re.escape(path.name)} has been changed or corrupted"):
        data.load(name)
    with pytest.raises(data.DataIntegrityError, match="changed or corrupted"):
        data.verify(name)


def test_unlisted_file_and_missing_checksum_list_are_refused(tmp_path, monkeypatch):
    folder = _data_copy(tmp_path, monkeypatch)
    sums = folder / "SHA256SUMS"
    lines = sums.read_text().splitlines()
    sums.write_text("\n".join(line for line in lines if not line.endswith(" sleepstudy.csv")) + "\n")
    with pytest.raises(data.DataIntegrityError, match="sleepstudy.csv is not listed in"):
        data.load("sleepstudy")
    assert len(data.load("exam")) == 4059  # the others still load
    sums.unlink()
    with pytest.raises(data.DataIntegrityError, match="Checksum list .*SHA256SUMS is missing"):
        data.load("exam")


def test_checksum_list_may_mark_binary_files_and_skip_blank_lines(tmp_path, monkeypatch):
    folder = _data_copy(tmp_path, monkeypatch)
    sums = folder / "SHA256SUMS"
    text = sums.read_text().replace("  exam.csv", " *exam.csv")  # sha256sum's binary-mode mark
    sums.write_text("\n" + text + "\n\n")
    assert data.verify("exam") == folder / "exam.csv"


def test_data_dir_follows_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("LME_HELPERS_DATA", raising=False)
    assert data.data_dir() == Path(data.__file__).resolve().parent.parent / "data"
    monkeypatch.setenv("LME_HELPERS_DATA", str(tmp_path))
    assert data.data_dir() == tmp_path
    with pytest.raises(data.DataIntegrityError, match=r"exam\.csv is missing"):
        data.load("exam")  # an empty folder


# ----- the real DfE file: england_ks4_2022_23.csv ----------------------------------------

KS4 = ROOT / "data" / "england_ks4_2022_23.csv"
KS4_SHA256 = "315800cd4869eea51ebc16747edbf26b4a80efd433d57bbfc6a36c88d72fcf54"  # the DfE extract as published
# Measured with lme4 1.1-31 on the 2,967 schools with a Progress 8 score (data/README.md)
LME4_P8_NULL = {"tau2": 0.047887, "sigma2": 0.220762, "icc": 0.1783, "loglik": -2086.546}
LME4_ATT8_NESTED = {"region": 6.695, "la": 10.046, "sigma2": 35.044,
                    "PTFSM6CLA1A": (-0.56935, 0.00984), "PNUMEAL": (0.12669, 0.00914)}


def load_ks4(**options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = data.load("england_ks4", **options)
    return frame, [str(w.message) for w in caught]


@pytest.fixture(scope="module")
def ks4():
    return load_ks4()[0]


def test_ks4_file_is_the_published_extract():
    assert data.sha256(KS4) == KS4_SHA256
    assert data.verify("england_ks4") == data.data_dir() / "england_ks4_2022_23.csv"


def test_ks4_shape_groups_and_reported_drops(ks4):
    raw = pd.read_csv(KS4, dtype=str, keep_default_na=False)
    assert raw.shape == (3056, 37)
    frame, messages = load_ks4()
    assert frame.shape == (2967, 37) and frame.P8MEA.notna().all()
    assert frame.LANAME.nunique() == 151 and frame.LEA.nunique() == 151 and frame.gor_name.nunique() == 9
    assert messages == [f"Read 3056 rows from {KS4.name}; dropped 89 (missing P8MEA: 89)."]
    assert frame.attrs["dropped"] == {"missing P8MEA": 89}
    everything, messages = load_ks4(drop_missing=())
    assert len(everything) == 3056 and messages == []


def test_ks4_identifiers_are_strings(ks4):
    for col in ("URN", "LEA"):
        assert ks4[col].map(type).eq(str).all(), col
    raw = pd.read_csv(KS4, dtype=str)
    assert set(ks4.URN) <= set(raw.URN) and ks4.URN.is_unique
    assert ks4.LEA.str.fullmatch(r"\d{3}").all()


def test_ks4_categoricals_follow_the_synthetic_file(ks4):
    synthetic = data.load("england_schools")
    for col in ("gor_name", "OFSTEDRATING", "MINORGROUP"):
        assert isinstance(ks4[col].dtype, pd.CategoricalDtype), col
        assert list(ks4[col].cat.categories) == list(synthetic[col].cat.categories), col
    raw = pd.read_csv(KS4, dtype=str, keep_default_na=False).set_index("URN")
    # no value was lost in the conversion: missing after it only where the file says NA
    rating = ks4.set_index("URN").OFSTEDRATING
    assert (rating.isna() == raw.loc[rating.index, "OFSTEDRATING"].eq("NA")).all()


def test_ks4_missing_values_decoded(ks4):
    raw = pd.read_csv(KS4, dtype=str, keep_default_na=False).set_index("URN")
    frame = load_ks4(drop_missing=())[0].set_index("URN")
    for col in ("ATT8SCR", "P8MEA", "PTFSM6CLA1A", "PNUMEAL", "PERCTOT", "TOTPUPS", "NORB", "easting"):
        assert pd.api.types.is_float_dtype(frame[col]), col
        assert (frame[col].isna() == raw.loc[frame.index, col].eq("NA")).all(), col
    assert frame.loc["100053", "ATT8SCR"] == pytest.approx(50.3)
    assert frame.RELCHAR.isna().sum() == raw.RELCHAR.eq("NA").sum() > 0  # text columns too


def _write_ks4_copy(folder: Path, frame: pd.DataFrame) -> None:
    """Write a changed copy of the KS4 file into ``folder`` and list its new checksum there."""
    frame.to_csv(folder / KS4.name, index=False)
    lines = [f"{data.sha256(folder / KS4.name)}  {KS4.name}" if line.split()[1] == KS4.name else line
             for line in (folder / "SHA256SUMS").read_text().splitlines()]
    (folder / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def test_ks4_suppression_codes_in_the_real_file_become_missing(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    shutil.copytree(ROOT / "data", folder, ignore=shutil.ignore_patterns("scripts"))
    monkeypatch.setenv("LME_HELPERS_DATA", str(folder))
    raw = pd.read_csv(KS4, dtype=str, keep_default_na=False)
    planted = {0: ("ATT8SCR", "SUPP"), 1: ("P8MEA_FSM6CLA1A", "NE"), 2: ("PTFSM6CLA1A", "NP"), 3: ("PERCTOT", "x"),
               4: ("NORB", "SP")}
    for row, (col, code) in planted.items():
        raw.loc[row, col] = code
    _write_ks4_copy(folder, raw)
    frame = load_ks4(drop_missing=())[0]
    for row, (col, _) in planted.items():
        assert np.isnan(frame.loc[row, col]), col
    assert frame.loc[5, "ATT8SCR"] == float(raw.loc[5, "ATT8SCR"])
    raw.loc[6, "PNUMEAL"] = "about ten"
    _write_ks4_copy(folder, raw)
    with pytest.raises(ValueError, match=r"england_ks4_2022_23\.csv: Column 'PNUMEAL' has values that are neither"):
        data.load("england_ks4")


def test_ks4_changed_file_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    shutil.copytree(ROOT / "data", folder, ignore=shutil.ignore_patterns("scripts"))
    text = (folder / KS4.name).read_text().replace("Acland Burghley School,202", "Acland Burghley School,203", 1)
    (folder / KS4.name).write_text(text)
    monkeypatch.setenv("LME_HELPERS_DATA", str(folder))
    with pytest.raises(data.DataIntegrityError, match="england_ks4_2022_23.csv has been changed or corrupted"):
        data.load("england_ks4")


def test_ks4_codebook_describes_every_column_and_regenerates(tmp_path):
    codebook = pd.read_csv(ROOT / "data" / "england_ks4_2022_23_codebook.csv", dtype=str, keep_default_na=False)
    header = pd.read_csv(KS4, nrows=0).columns
    assert list(codebook.column) == list(header)
    assert codebook.description.str.len().gt(5).all()
    assert set(codebook.source) <= {"ks4_meta.xlsx", "census_meta.csv", "abs_meta.csv", "school_information_meta.csv",
                                    "added by the join of the DfE files"}
    assert codebook.set_index("column").loc["P8MEA", "missing"] == "89"
    folder = tmp_path / "data"
    shutil.copytree(ROOT / "data", folder)
    (folder / "england_ks4_2022_23_codebook.csv").unlink()
    subprocess.run([sys.executable, str(folder / "scripts" / "make_ks4_codebook.py"), str(folder)], check=True,
                   capture_output=True)
    assert ((folder / "england_ks4_2022_23_codebook.csv").read_bytes()
            == (ROOT / "data" / "england_ks4_2022_23_codebook.csv").read_bytes())


def test_ks4_codebook_script_names_an_undescribed_column(tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(ROOT / "data", folder)
    text = (folder / KS4.name).read_text().replace("easting,northing", "easting,MYSTERY", 1)
    (folder / KS4.name).write_text(text)
    proc = subprocess.run([sys.executable, str(folder / "scripts" / "make_ks4_codebook.py"), str(folder)],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "column 'MYSTERY' is described in no metadata file" in proc.stderr


def test_ks4_null_model_matches_lme4(ks4):
    model = lh.fit("P8MEA ~ 1 + (1 | LANAME)", ks4, warn=False)
    vc = model.variance_components().set_index("group").variance
    assert vc["LANAME"] == pytest.approx(LME4_P8_NULL["tau2"], rel=1e-4)
    assert vc["Residual"] == pytest.approx(LME4_P8_NULL["sigma2"], rel=1e-4)
    assert lh.icc(model) == pytest.approx(LME4_P8_NULL["icc"], abs=1e-4)
    assert model.loglik == pytest.approx(LME4_P8_NULL["loglik"], abs=1e-3)
    assert model.nobs == 2967


def test_ks4_nested_model_matches_lme4(ks4):
    model = lh.fit("ATT8SCR ~ PTFSM6CLA1A + PNUMEAL + (1 | gor_name/LANAME)", ks4, warn=False)
    vc = model.variance_components().set_index("group").variance
    assert vc["gor_name"] == pytest.approx(LME4_ATT8_NESTED["region"], abs=1e-3)
    assert vc["LANAME:gor_name"] == pytest.approx(LME4_ATT8_NESTED["la"], abs=1e-3)
    assert vc["Residual"] == pytest.approx(LME4_ATT8_NESTED["sigma2"], abs=1e-3)
    fe = model.fixed_effects()
    for term in ("PTFSM6CLA1A", "PNUMEAL"):
        estimate, se = LME4_ATT8_NESTED[term]
        assert fe.loc[term, "estimate"] == pytest.approx(estimate, abs=1e-5), term
        assert fe.loc[term, "std_error"] == pytest.approx(se, abs=1e-5), term


KS4_R = r"""
suppressPackageStartupMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], colClasses = c(URN = "character", LEA = "character"))
d <- d[!is.na(d$P8MEA), ]
m <- lmer(P8MEA ~ 1 + (1 | LANAME), data = d, REML = TRUE)
vc <- as.data.frame(VarCorr(m))
cat(jsonlite::toJSON(list(n = nrow(d), groups = length(unique(d$LANAME)), tau2 = vc$vcov[1], sigma2 = vc$vcov[2],
                          loglik = as.numeric(logLik(m))), digits = NA, auto_unbox = TRUE))
"""


def test_ks4_null_model_matches_lme4_live(ks4, tmp_path):
    require_r()
    script = tmp_path / "ks4_null.R"
    script.write_text(KS4_R)
    proc = subprocess.run(["Rscript", "--vanilla", str(script), str(KS4)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (r["n"], r["groups"]) == (len(ks4), ks4.LANAME.nunique())
    model = lh.fit("P8MEA ~ 1 + (1 | LANAME)", ks4, warn=False)
    vc = model.variance_components().set_index("group").variance
    assert vc["LANAME"] == pytest.approx(r["tau2"], rel=1e-4)
    assert vc["Residual"] == pytest.approx(r["sigma2"], rel=1e-4)
    assert model.loglik == pytest.approx(r["loglik"], rel=1e-6)
    # and the stored figures are lme4's
    assert r["tau2"] == pytest.approx(LME4_P8_NULL["tau2"], abs=1e-6)
    assert r["loglik"] == pytest.approx(LME4_P8_NULL["loglik"], abs=1e-3)


def test_ks4_value_outside_the_levels_is_named(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    shutil.copytree(ROOT / "data", folder, ignore=shutil.ignore_patterns("scripts"))
    monkeypatch.setenv("LME_HELPERS_DATA", str(folder))
    raw = pd.read_csv(KS4, dtype=str, keep_default_na=False)
    raw.loc[0, "gor_name"] = "Narnia"
    _write_ks4_copy(folder, raw)
    with pytest.raises(data.DataIntegrityError, match=r"Column 'gor_name' of england_ks4_2022_23\.csv has values "
                                                       r"outside its levels: 'Narnia'"):
        load_ks4()


def test_options_only_for_the_dfe_reader():
    with pytest.raises(TypeError, match="Data set 'exam' takes no options; got drop_missing"):
        data.load("exam", drop_missing=())


def test_dfe_reader_names_the_file_it_read_or_says_the_file():
    _, messages = load_fixture()
    assert messages[0].startswith(f"Read 8 rows from {FIXTURE.name}; dropped 5 (")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data.load_school_performance(io.StringIO(FIXTURE.read_text()))
    assert str(caught[0].message).startswith("Read 8 rows from the file; dropped 5 (")


def test_no_data_folder_is_a_clear_error(monkeypatch, tmp_path):
    """Neither a clone's data/ nor the package's own copy: say so, and how to fix it."""
    monkeypatch.delenv("LME_HELPERS_DATA", raising=False)
    monkeypatch.setattr(data, "__file__", str(tmp_path / "lme_helpers" / "data.py"))
    packaged = Path(data.__spec__.origin).parent / data.PACKAGED_DATA
    if (packaged / "SHA256SUMS").is_file():
        pytest.skip(f"this installation carries its own data copy ({packaged}); the error cannot arise")
    with pytest.raises(data.DataIntegrityError, match="No data folder found.*LME_HELPERS_DATA"):
        data.data_dir()
