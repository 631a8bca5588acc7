"""Derive the codebook of england_ks4_2022_23.csv from the DfE's own metadata files.

Usage: python data/scripts/make_ks4_codebook.py [data folder]

Reads the column names of ``england_ks4_2022_23.csv`` and looks each one up in the
DfE's field descriptions in ``england_ks4_2022_23_metadata/`` (``ks4_meta.xlsx``,
``census_meta.csv``, ``abs_meta.csv``, ``school_information_meta.csv``). The
extract's ``.x``/``.y`` suffixes (left by the join of the DfE files) are removed
before the look-up. The few columns added by the join itself are described in
``JOINED`` below. Writes ``england_ks4_2022_23_codebook.csv``: one row per column,
in file order, with the metadata file each description comes from, the type and
the number of missing values. Deterministic: the tests re-run it and compare bytes.

Only the standard library is used (the ``.xlsx`` file is read as the zip of XML
files it is), so the script runs without pandas or openpyxl.
"""

from __future__ import annotations

import csv
import io
import re
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

DATA_FILE = "england_ks4_2022_23.csv"
META_DIR = "england_ks4_2022_23_metadata"
OUTPUT = "england_ks4_2022_23_codebook.csv"
MISSING = {"", "NA", "SUPP", "NE", "NP", "SP", "SN", "LOWCOV", "NEW", "SUPPMAT", "x", "c", "z"}

# Columns that the join of the DfE files added (not described in any metadata file).
JOINED = {
    "gor_name": "Region of England (government office region) of the school's local authority",
    "gender_name": "Pupils admitted: Mixed, Boys or Girls",
    "easting": "British National Grid easting of the school (metres)",
    "northing": "British National Grid northing of the school (metres)",
}

_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def read_xlsx_sheet(path: Path, sheet: int = 1) -> list[list[str]]:
    """The cells of one worksheet of an ``.xlsx`` file as rows of text (empty cells as '')."""
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        strings = []
        if "xl/sharedStrings.xml" in names:
            root = ET.fromstring(z.read("xl/sharedStrings.xml"))
            strings = ["".join(t.text or "" for t in si.iter(f"{{{_NS['m']}}}t")) for si in root.findall("m:si", _NS)]
        root = ET.fromstring(z.read(f"xl/worksheets/sheet{sheet}.xml"))
    rows = []
    for row in root.findall(".//m:sheetData/m:row", _NS):
        cells: dict[int, str] = {}
        for cell in row.findall("m:c", _NS):
            column = re.match(r"[A-Z]+", cell.get("r", "A")).group(0)
            index = 0
            for ch in column:
                index = index * 26 + ord(ch) - ord("A") + 1
            kind, value = cell.get("t"), cell.find("m:v", _NS)
            if kind == "inlineStr":
                text = "".join(t.text or "" for t in cell.iter(f"{{{_NS['m']}}}t"))
            elif value is None:
                text = ""
            else:
                text = strings[int(value.text)] if kind == "s" else value.text or ""
            cells[index - 1] = text.strip()
        rows.append([cells.get(i, "") for i in range(max(cells) + 1)] if cells else [])
    return rows


def read_csv(path: Path) -> list[dict[str, str]]:
    text = path.read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def descriptions(meta: Path) -> dict[str, tuple[str, str]]:
    """DfE field name -> (description, metadata file), the first file that describes it winning."""
    out: dict[str, tuple[str, str]] = {}

    def add(field: str, text: str, source: str) -> None:
        field, text = field.strip(), " ".join(text.split())
        if field and text and field not in out:
            out[field] = (text, source)

    rows = read_xlsx_sheet(meta / "ks4_meta.xlsx", 1)
    header = rows[0]
    name_col, desc_col = header.index("Metafile heading"), header.index("Metafile description")
    for row in rows[1:]:
        if len(row) > desc_col:
            add(row[name_col], row[desc_col], "ks4_meta.xlsx")
    for row in read_csv(meta / "census_meta.csv"):
        add(row["Field Reference"], row["Field Name"], "census_meta.csv")
    for row in read_csv(meta / "abs_meta.csv"):
        add(row["Variable"], row["Description"] or row["Label"], "abs_meta.csv")
    for row in read_csv(meta / "school_information_meta.csv"):
        add(row["Field Name"], row["Description"], "school_information_meta.csv")
    return out


def column_type(values: list[str]) -> str:
    present = [v for v in values if v.strip() not in MISSING]
    try:
        numbers = [float(v) for v in present]
    except ValueError:
        return f"text ({len(set(present))} values)"
    if all(n.is_integer() for n in numbers):
        return "integer"
    return "number"


def codebook(folder: Path) -> list[dict[str, str]]:
    with open(folder / DATA_FILE, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        columns = list(zip(*reader))
    known = descriptions(folder / META_DIR)
    rows = []
    for name, values in zip(header, columns):
        field = re.sub(r"\.[xy]$", "", name)
        if field in known:
            description, source = known[field]
        elif name in JOINED:
            description, source = JOINED[name], "added by the join of the DfE files"
        else:
            raise SystemExit(f"{DATA_FILE}: column {name!r} is described in no metadata file in {META_DIR}/ "
                             "and not in JOINED; add its description.")
        if field in ("URN", "LEA"):
            kind = "identifier (text)"
        else:
            kind = column_type(list(values))
        missing = sum(v.strip() in MISSING for v in values)
        rows.append({"column": name, "dfe_field": field, "description": description, "source": source,
                     "type": kind, "missing": str(missing)})
    return rows


def main(folder: Path) -> None:
    rows = codebook(folder)
    with open(folder / OUTPUT, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {folder / OUTPUT}: {len(rows)} columns")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1])
