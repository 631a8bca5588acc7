"""make mutate's own arithmetic: the seeded sample and the score's interval (scripts/mutate.py)."""

from __future__ import annotations

import doctest
import importlib.util

from conftest import ROOT


def _load():
    spec = importlib.util.spec_from_file_location("mutate", ROOT / "scripts" / "mutate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_examples_in_the_script_hold():
    result = doctest.testmod(_load())
    assert result.attempted >= 4 and result.failed == 0


def test_sample_is_seeded_and_follows_the_names_not_their_order():
    mutate = _load()
    names = [f"lme_helpers.variance.x_icc__mutmut_{i}" for i in range(1, 400)]
    picked = mutate.sample_mutants(names, 30, seed=2023)
    assert len(picked) == len(set(picked)) == 30 and picked == sorted(picked)
    assert picked == mutate.sample_mutants(list(reversed(names)), 30, seed=2023)
    assert picked != mutate.sample_mutants(names, 30, seed=2024)
    # dropping mutants that were not picked leaves the sample as it was
    kept = [n for n in names if n in picked or names.index(n) % 2]
    assert mutate.sample_mutants(kept, 30, seed=2023) == picked


def test_wilson_interval_brackets_the_proportion():
    mutate = _load()
    low, high = mutate.wilson(270, 300)
    assert 0.85 < low < 0.9 < high < 0.94
    assert mutate.wilson(0, 0) == (0.0, 1.0)
    low, high = mutate.wilson(300, 300)
    assert abs(high - 1.0) < 1e-12 and 0.98 < low < 0.99


def test_a_reason_counts_only_while_the_mutant_makes_the_listed_change(capsys):
    mutate = _load()
    listed = {"m__mutmut_3": {"change": "x = np.asarray(x, dtype=None)", "reason": "float64 already"}}
    diff = "--- a.py\n+++ a.py\n@@ -1 +1 @@\n-    x = np.asarray(x, dtype=float)\n+    x = np.asarray(x, dtype=None)\n"
    assert mutate.reason_for(listed, "m__mutmut_3", diff) == "float64 already"
    assert mutate.reason_for(listed, "m__mutmut_4", diff) is None
    moved = diff.replace("dtype=None", "dtype=int")  # the function was edited; number 3 is another change
    assert mutate.reason_for(listed, "m__mutmut_3", moved) is None
    assert "not counted" in capsys.readouterr().out


def test_every_listed_reason_names_its_change():
    listed = _load().load_equivalent()
    assert listed
    for name, entry in listed.items():
        assert "__mutmut_" in name and entry["change"].strip() and len(entry["reason"]) > 20, name
