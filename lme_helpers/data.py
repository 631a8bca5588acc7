"""The book's data sets: checked loading, and a reader for DfE school performance files.

Every data file has its SHA-256 listed in ``SHA256SUMS`` beside it;
:func:`load` refuses a file whose checksum does not match, so an edited or
corrupted file gives an error rather than wrong numbers.

The files are found in this order: the folder named by ``$LME_HELPERS_DATA``;
the repository's ``data/`` folder when the package is used from a clone; the
copy installed with the package (``lme_helpers/_data``, put into the wheel
when it is built).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "DATASETS",
    "data_dir",
    "load",
    "verify",
    "sha256",
    "load_school_performance",
    "SUPPRESSION_CODES",
    "DataIntegrityError",
]


class DataIntegrityError(RuntimeError):
    """A data file is missing or its checksum does not match ``data/SHA256SUMS``."""


@dataclass(frozen=True)
class Dataset:
    """Description of one shipped data set."""

    name: str
    file: str
    title: str
    strings: tuple[str, ...] = ()  # identifier columns kept as strings
    categories: tuple[tuple[str, tuple[str, ...]], ...] = ()  # ordered factors not in levels.json
    reader: str = "csv"  # "csv": pandas.read_csv; "dfe": load_school_performance
    options: dict = field(default_factory=dict)  # default keyword arguments of the reader


REGIONS = ("North East", "North West", "Yorkshire and the Humber", "East Midlands", "West Midlands",
           "East of England", "London", "South East", "South West")
OFSTED = ("Outstanding", "Good", "Requires improvement", "Serious Weaknesses", "Special Measures")
SCHOOL_TYPES = ("Academy", "Maintained school")

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in [
        Dataset("exam", "exam.csv", "GCSE exam scores of 4,059 pupils in 65 inner-London schools"),
        Dataset("sleepstudy", "sleepstudy.csv", "Reaction times over ten days of sleep deprivation"),
        Dataset("penicillin", "penicillin.csv", "Penicillin potency: 6 samples crossed with 24 plates"),
        Dataset("pastes", "pastes.csv", "Paste strength: casks nested in batches"),
        Dataset(
            "england_schools",
            "england_schools_synthetic.csv",
            "Synthetic England secondary schools in local authorities (simulated, not real)",
            strings=("URN", "LEA"),
            categories=(("gor_name", REGIONS), ("OFSTEDRATING", OFSTED), ("MINORGROUP", SCHOOL_TYPES)),
        ),
        Dataset(
            "england_ks4",
            "england_ks4_2022_23.csv",
            "England's state-funded mainstream secondary schools, key stage 4 results 2022/23 (real DfE data)",
            strings=("URN", "LEA"),
            categories=(("gor_name", REGIONS), ("OFSTEDRATING", OFSTED), ("MINORGROUP", SCHOOL_TYPES)),
            reader="dfe",
            options={"drop_missing": ("P8MEA",),
                     "numeric": ("TOTPUPS", "NORB", "NORG", "PNUMFSMEVER", "easting", "northing")},
        ),
    ]
}


PACKAGED_DATA = "_data"  # the folder inside the installed package that holds the data files


def data_dir() -> Path:
    """The folder holding the data files.

    ``$LME_HELPERS_DATA`` if set; else the repository's ``data/`` folder when the
    package runs from a clone; else the copy installed with the package.

    Examples
    --------
    >>> (data_dir() / "SHA256SUMS").exists()
    True
    """
    env = os.environ.get("LME_HELPERS_DATA")
    if env:
        return Path(env)
    clone = Path(__file__).resolve().parent.parent / "data"
    if (clone / "SHA256SUMS").is_file():
        return clone
    packaged = resources.files(__package__).joinpath(PACKAGED_DATA)
    if not packaged.joinpath("SHA256SUMS").is_file():
        raise DataIntegrityError(
            f"No data folder found: neither {clone} (a clone of the repository) nor the package's own "
            f"{PACKAGED_DATA}/ folder holds SHA256SUMS. Reinstall lme_helpers from its wheel, or set "
            "LME_HELPERS_DATA to a folder with the data files."
        )
    return Path(str(packaged))


def sha256(path: str | Path) -> str:
    """SHA-256 hex digest of a file.

    Examples
    --------
    >>> len(sha256(data_dir() / "exam.csv"))
    64
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def _expected_checksums(folder: Path) -> dict[str, str]:
    sums = folder / "SHA256SUMS"
    if not sums.exists():
        raise DataIntegrityError(f"Checksum list {sums} is missing.")
    out = {}
    for line in sums.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            out[name.strip().lstrip("*")] = digest
    return out


def verify(name: str) -> Path:
    """Check a data set's file against ``data/SHA256SUMS`` and return its path.

    Raises
    ------
    DataIntegrityError
        If the file is missing, unlisted or its checksum differs.

    Examples
    --------
    >>> verify("exam").name
    'exam.csv'
    """
    ds = _dataset(name)
    folder = data_dir()
    path = folder / ds.file
    if not path.exists():
        raise DataIntegrityError(f"Data file {path} is missing; see data/README.md for how to regenerate it.")
    expected = _expected_checksums(folder).get(ds.file)
    if expected is None:
        raise DataIntegrityError(f"Data file {ds.file} is not listed in {folder / 'SHA256SUMS'}.")
    actual = sha256(path)
    if actual != expected:
        raise DataIntegrityError(
            f"Data file {path} has been changed or corrupted: its SHA-256 is {actual[:12]}..., "
            f"but data/SHA256SUMS lists {expected[:12]}.... Restore it with git or regenerate it "
            "with the script named in data/README.md."
        )
    return path


def _dataset(name: str) -> Dataset:
    if name not in DATASETS:
        raise KeyError(f"Unknown data set {name!r}; available: {', '.join(DATASETS)}.")
    return DATASETS[name]


def load(name: str, **options) -> pd.DataFrame:
    """Load a shipped data set, verified against its checksum.

    Factors become pandas categoricals with the levels in R's order, so
    reference categories match lme4's.

    Parameters
    ----------
    name : str
        One of ``exam``, ``sleepstudy``, ``penicillin``, ``pastes``,
        ``england_schools`` (synthetic) and ``england_ks4`` (the real 2022/23
        DfE file, read with :func:`load_school_performance`, which warns how
        many rows it dropped and why: by default the 89 schools without a
        Progress 8 score).
    **options
        For ``england_ks4``: keyword arguments of :func:`load_school_performance`
        that replace the defaults, e.g. ``drop_missing=("ATT8SCR",)``.

    Returns
    -------
    DataFrame

    Examples
    --------
    >>> exam = load("exam")
    >>> exam.shape, exam["school"].nunique()
    ((4059, 10), 65)
    >>> list(exam["sex"].cat.categories)
    ['F', 'M']
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     ks4 = load("england_ks4")
    >>> ks4.shape, ks4["LANAME"].nunique(), str(caught[0].message).split("; ")[-1]
    ((2967, 37), 151, 'dropped 89 (missing P8MEA: 89).')
    """
    ds = _dataset(name)
    path = verify(name)
    if ds.reader == "dfe":
        with warnings.catch_warnings(record=True) as caught:  # re-issued below, pointing at the caller
            warnings.simplefilter("always")
            frame = load_school_performance(path, **{**ds.options, **options})
        for w in caught:
            warnings.warn(str(w.message), w.category, stacklevel=2)
    elif options:
        raise TypeError(f"Data set {name!r} takes no options; got {', '.join(options)}.")
    else:
        frame = pd.read_csv(path, dtype={c: str for c in ds.strings}, keep_default_na=True)
    levels_path = data_dir() / "levels.json"
    levels = json.loads(levels_path.read_text()).get(name, {}) if levels_path.exists() else {}
    levels.update({col: list(lv) for col, lv in ds.categories})
    for col, lv in levels.items():
        if col in frame:
            lv = [str(v) for v in lv]
            present = frame[col].dropna().astype(str)
            unknown = sorted(set(present) - set(lv))
            if unknown:
                raise DataIntegrityError(f"Column {col!r} of {path.name} has values outside its levels: "
                                         f"{', '.join(repr(u) for u in unknown[:5])}; expected one of {lv}.")
            frame[col] = pd.Categorical(frame[col].where(frame[col].isna(), frame[col].astype(str)), categories=lv)
    return frame


# --------------------------------------------------------------------------
# DfE key stage 4 school performance tables
# --------------------------------------------------------------------------

SUPPRESSION_CODES: tuple[str, ...] = (
    "SUPP", "NE", "NP", "NA", "SP", "SN", "LOWCOV", "NEW", "SUPPMAT", "x", "c", "z", "",
)
"""Codes the DfE uses for suppressed, not applicable or missing values."""

ID_COLUMNS = ("URN", "LEA", "LANAME", "SCHNAME", "gor_name", "OFSTEDRATING", "MINORGROUP", "NFTYPE")
REQUIRED_COLUMNS = ("URN", "LEA", "LANAME", "ATT8SCR", "PTFSM6CLA1A", "PERCTOT")
NUMERIC_COLUMNS = ("ATT8SCR", "P8MEA", "PTFSM6CLA1A", "PERCTOT", "PNUMEAL", "TOTPUPS")


def _to_number(series: pd.Series) -> pd.Series:
    text = series.astype("string").str.strip()
    text = text.mask(text.isin(SUPPRESSION_CODES) | text.isna())
    text = text.str.replace(",", "", regex=False).str.replace(r"%$", "", regex=True)
    out = pd.to_numeric(text, errors="coerce")
    bad = out.isna() & text.notna()
    if bad.any():
        examples = ", ".join(repr(v) for v in text[bad].unique()[:3])
        raise ValueError(f"Column {series.name!r} has values that are neither numbers nor DfE codes: {examples}.")
    return out.astype(float)


def _to_text(series: pd.Series) -> pd.Series:
    """A text column with the DfE's missing-value codes (``NA``, ``SUPP`` ...) as missing values."""
    text = series.str.strip()
    return text.mask(text.isin(SUPPRESSION_CODES))


def load_school_performance(
    path: str | Path,
    *,
    required: tuple[str, ...] = REQUIRED_COLUMNS,
    drop_special: bool = True,
    drop_missing: tuple[str, ...] = ("ATT8SCR",),
    numeric: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Read a DfE key stage 4 school-level performance CSV (or a cleaned copy).

    Suppression and missing codes (:data:`SUPPRESSION_CODES`) become missing
    values, percentages written as ``"37%"`` become numbers, identifiers stay
    strings. The function reports (with a warning) how many rows it dropped
    and why.

    Parameters
    ----------
    path : str or Path
        The CSV file, e.g. ``england_ks4final.csv`` from the DfE's download
        service.
    required : tuple of str
        Columns that must be present.
    drop_special : bool
        Drop special schools (rows whose ``MINORGROUP`` or ``NFTYPE`` says
        special), when those columns exist.
    drop_missing : tuple of str
        Drop rows where any of these columns is missing after decoding.
    numeric : tuple of str
        Further columns to decode as numbers (columns named like the DfE's
        numeric fields, ``P...``, ``PT...``, ``ATT...``, ``PERC...``, ``TOT...``,
        ``AVG...``, always are). Text in them that is not a DfE code is an error.

    Returns
    -------
    DataFrame
        One row per school, with ``attrs["dropped"]`` a dict of reasons and counts.

    Raises
    ------
    ValueError
        If a required column is missing (the message names it) or a numeric
        column holds text that is not a known code.

    Examples
    --------
    >>> import io
    >>> csv = io.StringIO("URN,LEA,LANAME,ATT8SCR,PTFSM6CLA1A,PERCTOT\\n1,201,City,45.1,20%,8.1\\n2,201,City,SUPP,NE,9\\n")
    >>> import warnings
    >>> with warnings.catch_warnings(record=True):
    ...     frame = load_school_performance(csv)
    >>> frame[["URN", "ATT8SCR", "PTFSM6CLA1A"]].values.tolist(), frame.attrs["dropped"]
    ([['1', 45.1, 20.0]], {'missing ATT8SCR': 1})
    """
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
    frame.columns = [c.strip() for c in frame.columns]
    missing = [c for c in (*required, *numeric) if c not in frame.columns]
    if missing:
        raise ValueError(
            f"Required column{'s' if len(missing) > 1 else ''} {', '.join(repr(c) for c in missing)} "
            f"not found in {path}; columns present: {', '.join(frame.columns[:12])}{' ...' if len(frame.columns) > 12 else ''}."
        )
    n0 = len(frame)
    dropped: dict[str, int] = {}
    # DfE files end with national/LA total rows that have no URN
    no_urn = frame["URN"].str.strip().isin(SUPPRESSION_CODES)
    if no_urn.any():
        dropped["no URN (summary rows)"] = int(no_urn.sum())
        frame = frame.loc[~no_urn]
    if drop_special:
        special = pd.Series(False, index=frame.index)
        for col in ("MINORGROUP", "NFTYPE"):
            if col in frame:
                special |= frame[col].str.contains("special", case=False, na=False)
        if special.any():
            dropped["special school"] = int(special.sum())
            frame = frame.loc[~special]
    for col in frame.columns:
        if col in ID_COLUMNS:
            frame[col] = frame[col].str.strip()
            frame[col] = frame[col].mask(frame[col].isin(SUPPRESSION_CODES))
        elif col in NUMERIC_COLUMNS or col in numeric or re.match(r"^(P|PT|ATT|PERC|TOT|AVG)", col):
            try:
                frame[col] = _to_number(frame[col])
            except ValueError as exc:
                if col in NUMERIC_COLUMNS or col in numeric:
                    raise ValueError(f"{path}: {exc}") from None
                # a text column whose name only looks numeric: leave it as text
                frame[col] = _to_text(frame[col])
        else:
            frame[col] = _to_text(frame[col])
    for col in drop_missing:
        if col not in frame:
            raise ValueError(f"Column {col!r} named in drop_missing is not in {path}.")
        na = frame[col].isna()
        if na.any():
            dropped[f"missing {col}"] = int(na.sum())
            frame = frame.loc[~na]
    frame = frame.reset_index(drop=True)
    if dropped:
        detail = "; ".join(f"{k}: {v}" for k, v in dropped.items())
        from .messages import DataWarning

        name = Path(path).name if isinstance(path, (str, Path)) else "the file"
        warnings.warn(f"Read {n0} rows from {name}; dropped {n0 - len(frame)} ({detail}).", DataWarning, stacklevel=2)
    frame.attrs["dropped"] = dropped
    return frame


def describe(frame: pd.DataFrame) -> pd.DataFrame:
    """Compact summary of a data set: type, missing values and levels or range per column.

    Examples
    --------
    >>> describe(load("sleepstudy")).loc["Subject", "levels / range"]
    '18 levels'
    """
    rows = []
    for col in frame.columns:
        s = frame[col]
        if isinstance(s.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(s):
            info = f"{s.nunique()} levels"
        else:
            info = f"{np.nanmin(s):.3g} to {np.nanmax(s):.3g}"
        rows.append((col, str(s.dtype), int(s.isna().sum()), info))
    return pd.DataFrame(rows, columns=["column", "type", "missing", "levels / range"]).set_index("column")
