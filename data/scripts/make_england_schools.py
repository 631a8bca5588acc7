"""Regenerate data/england_schools_synthetic.csv and its truth file.

Usage (from the repository root):  python data/scripts/make_england_schools.py

The data are simulated by lme_helpers.simulation.simulate_schools with a fixed
seed; the true parameters are written next to the data as JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

from lme_helpers.simulation import simulate_schools

SEED = 20230901
OUT = Path(__file__).resolve().parent.parent


def main() -> None:
    data, truth = simulate_schools(seed=SEED)
    data.to_csv(OUT / "england_schools_synthetic.csv", index=False, lineterminator="\n", float_format="%.6g")
    truth = {k: v for k, v in truth.items()}
    truth["seed"] = SEED
    (OUT / "england_schools_truth.json").write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n")
    print(f"wrote {len(data)} schools in {data.LANAME.nunique()} authorities to {OUT}")


if __name__ == "__main__":
    main()
