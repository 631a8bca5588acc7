"""Mutation testing of the statistics modules of lme_helpers (make mutate).

Runs mutmut (pinned in requirements-mutate.txt; configured in pyproject.toml's [tool.mutmut])
and writes the score and every surviving mutant to bench/:

- bench/mutation.json: counts per module and overall, the score, and each survivor with its
  diff and, when it is listed in bench/mutation-equivalent.json, the reason it is equivalent;
- bench/mutation-survivors.md: the same survivors, readable.

mutmut plants one small change at a time (an operator, a constant, a comparison, an argument)
and runs only the fast tests that call the changed function (it records which tests call which
function in a first run). A mutant is killed when a test fails. Results are kept in mutants/, so
a second run only tests mutants of functions that changed.

Usage (from the repository root):
    python scripts/mutate.py                         # every statistics module
    python scripts/mutate.py --modules variance,pooling
    python scripts/mutate.py --survivors             # test the last survivors again (after adding tests)
    python scripts/mutate.py --report-only           # rewrite bench/ from the last results
    python scripts/mutate.py --targeted              # chosen mutants against chosen tests (below)
    python scripts/mutate.py --sample 300            # a random sample of all mutants (an estimate)
Environment: MUTATE_JOBS (parallel workers, default: the number of CPUs).

--sample N runs N mutants drawn at random (seeded) from every mutant of the modules, each against
the tests mutmut selects for it, as the full run does, and writes bench/mutation-sample.json and
bench/mutation-sample.md: the estimated score with its 95% (Wilson) interval and every survivor.
The full run tests over six thousand mutants; on a two-CPU machine it takes many hours.

--targeted is the cheap check for a shared or small machine: it skips mutmut's first run of the
whole suite and runs each mutant of the functions named in bench/mutation-targets.json against
the tests named there (those written for that function), writing bench/mutation-targeted.json.

The R comparisons use the stored reference files (LME_HELPERS_NO_R=1 is set for the run), so
R is not needed and the live-R tests are skipped.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = ("fitting", "formula", "variance", "pooling", "comparison", "data", "simulation", "lmm", "inference",
           "tables")
EQUIVALENT = ROOT / "bench" / "mutation-equivalent.json"
TARGETS = ROOT / "bench" / "mutation-targets.json"
KILLED = {"killed", "timeout", "caught by type check", "segfault"}


def changed_lines(diff: str) -> str:
    """The lines a mutant adds (its diff's '+' lines, stripped), one per line."""
    return "\n".join(line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++"))


def load_equivalent() -> dict[str, dict]:
    """bench/mutation-equivalent.json's entries: name -> {"change": ..., "reason": ...}."""
    return json.loads(EQUIVALENT.read_text())["mutants"] if EQUIVALENT.exists() else {}


def reason_for(equivalent: dict[str, dict], name: str, diff: str) -> str | None:
    """The listed reason why a surviving mutant is equivalent, or None when it is not listed or
    the mutant of that name no longer makes the listed change (its function was edited, so the
    numbering moved): a stale reason is reported, not counted."""
    entry = equivalent.get(name)
    if entry is None:
        return None
    change = changed_lines(diff)
    if entry["change"] != change:
        print(f"warning: {name} is listed in {EQUIVALENT.name} for the change {entry['change']!r}, but it now "
              f"makes {change!r}; its reason is not counted until the entry is updated.", flush=True)
        return None
    return entry["reason"]


def survivor_section(survivor: dict) -> list[str]:
    """A survivor's lines in a Markdown report: its name and status, the reason or that it needs one, its diff."""
    reason = survivor["reason"]
    return [f"## {survivor['name']} ({survivor['status']})", "",
            f"Explained: {reason}" if reason else "Not yet explained: needs a test or a reason.", "",
            "```diff", survivor["diff"], "```", ""]


def _tests_digest() -> str:
    files = sorted((ROOT / "tests").rglob("*.py")) + [ROOT / "pyproject.toml"]
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()


STATS, STATS_STAMP = ROOT / "mutants" / "mutmut-stats.json", ROOT / "mutants" / ".tests-sha256"


def _forget_stale_stats() -> None:
    """Make mutmut record again which tests call which function when any test has changed.

    mutmut records that once and afterwards only for tests with new names, so a test that keeps
    its name but now calls another function would never be run against that function's mutants.
    """
    if STATS.exists() and (not STATS_STAMP.exists() or STATS_STAMP.read_text() != _tests_digest()):
        print("The tests changed since mutmut recorded which tests call which function: recording again.",
              flush=True)
        STATS.unlink()


def run_mutmut(modules: list[str], jobs: int, names: list[str] | None = None) -> int:
    if names is None:
        names = [] if set(modules) == set(MODULES) else [f"lme_helpers.{m}.*" for m in modules]
    _forget_stale_stats()
    mutmut = Path(sys.executable).parent / "mutmut"
    cmd = [str(mutmut), "run", "--max-children", str(jobs), *names]
    print("+", " ".join(cmd), flush=True)
    code = subprocess.run(cmd, cwd=ROOT, env=_env()).returncode
    if STATS.exists():
        STATS_STAMP.write_text(_tests_digest())
    return code


def _env() -> dict:
    return dict(os.environ, LME_HELPERS_NO_R="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                MKL_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")


def generate_mutants() -> None:
    """Write mutants/ (the package with every mutant behind a switch) without running any test."""
    os.chdir(ROOT)
    from mutmut.__main__ import create_mutants
    from mutmut.utils.file_utils import copy_also_copy_files, copy_src_dir

    Path("mutants").mkdir(exist_ok=True)
    copy_src_dir()
    copy_also_copy_files()
    for folder in ("tests",):  # the tests as they are now
        shutil.rmtree(Path("mutants") / folder, ignore_errors=True)
        shutil.copytree(folder, Path("mutants") / folder)
    create_mutants(1)


def run_targeted(jobs: int) -> dict:
    """Each mutant of the targeted functions against its targeted tests; returns the results."""
    import re
    from concurrent.futures import ThreadPoolExecutor

    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    generate_mutants()
    equivalent = load_equivalent()
    jobs_list = []
    for target in json.loads(TARGETS.read_text())["targets"]:
        path = Path("lme_helpers") / f"{target['module']}.py"
        data = SourceFileMutationData(path=path)
        data.load()
        for name in sorted(data.exit_code_by_key, key=lambda n: (n.rsplit("__mutmut_", 1)[0], int(n.rsplit("_", 1)[1]))):
            if re.search(target["function"], name.rsplit("__mutmut_", 1)[0]):
                jobs_list.append((name, path, target["tests"]))

    def one(job):
        name, path, tests = job
        env = dict(_env(), MUTANT_UNDER_TEST=name)
        proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                              cwd=ROOT / "mutants", env=env, capture_output=True, text=True)
        # 1: a test failed; 2, 3: the mutant broke collection or pytest itself; 0: every test passed
        status = {0: "survived", 1: "killed", 2: "killed", 3: "killed"}.get(proc.returncode, f"error {proc.returncode}")
        diff = get_diff_for_mutant(name, path=path)
        print(f"{status:9s} {name}", flush=True)
        reason = reason_for(equivalent, name, diff) if status == "survived" else None
        return {"name": name, "status": status, "reason": reason, "tests": tests, "diff": diff}

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(one, jobs_list))
    killed = sum(r["status"] == "killed" for r in results)
    eq = sum(r["status"] == "survived" and bool(r["reason"]) for r in results)
    out = {"written": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "mutants": len(results), "killed": killed,
           "equivalent": eq, "score": round(killed / len(results), 4) if results else None,
           "score_without_equivalent": round(killed / (len(results) - eq), 4) if len(results) > eq else None,
           "survivors": [r for r in results if r["status"] != "killed"]}
    (ROOT / "bench" / "mutation-targeted.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    return out


def all_mutants(modules: list[str]) -> list[str]:
    """Every mutant's name in the modules (mutants/ is written first if need be)."""
    os.chdir(ROOT)
    from mutmut.mutation.data import SourceFileMutationData

    generate_mutants()
    names = []
    for module in modules:
        data = SourceFileMutationData(path=Path("lme_helpers") / f"{module}.py")
        data.load()
        names += list(data.exit_code_by_key)
    return sorted(names)


def statuses(modules: list[str], names: list[str] | None = None) -> dict[str, str]:
    """mutmut's status of each named mutant (every mutant of the modules by default) from its last
    run ("not checked" if it has none)."""
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.stats import status_by_exit_code

    wanted, out = None if names is None else set(names), {}
    for module in modules:
        data = SourceFileMutationData(path=Path("lme_helpers") / f"{module}.py")
        data.load()
        out.update({n: status_by_exit_code[c] for n, c in data.exit_code_by_key.items() if wanted is None or n in wanted})
    return out


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval of a proportion k/n.

    >>> [round(x, 3) for x in wilson(90, 100)]
    [0.826, 0.945]
    """
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5 / (1 + z * z / n)
    return (centre - half, centre + half)


def sample_mutants(population: list[str], size: int, seed: int) -> list[str]:
    """The ``size`` mutants whose names hash lowest with the seed: a random sample that an edit of one
    function changes only in that function's mutants (so earlier results stay usable).

    >>> names = [f"m{i}" for i in range(100)]
    >>> picked = sample_mutants(names, 10, seed=1)
    >>> len(picked), picked == sample_mutants(names[::-1], 10, seed=1), picked == sample_mutants(names, 10, seed=2)
    (10, True, False)
    >>> set(picked) - set(sample_mutants(names[:50], 10, seed=1)) <= set(names[50:])
    True
    """

    def key(name: str) -> str:
        return hashlib.sha256(f"{seed}:{name}".encode()).hexdigest()

    return sorted(sorted(population, key=key)[:size])


def run_sample(modules: list[str], size: int, seed: int, jobs: int, run: bool = True) -> dict:
    """A random sample of the mutants through mutmut; returns the estimated score. With
    ``run=False`` only the report is written, from the results kept in mutants/ (a stopped run's
    unchecked mutants are counted as such)."""
    population = all_mutants(modules)
    chosen = sample_mutants(population, size, seed)
    # As mutmut does for a whole run, a killed mutant keeps its result; the others (not yet run, or
    # survivors that a new test may now kill) are run, so an interrupted sample resumes. A survivor
    # listed as equivalent is not run again: no test can kill it.
    listed = load_equivalent()
    before = statuses(modules, chosen)
    pending = [n for n in chosen if before[n] not in KILLED and not (before[n] == "survived" and n in listed)]
    print(f"{len(chosen) - len(pending)} of the {len(chosen)} sampled mutants already killed or explained; "
          f"{'running' if run else 'not running'} {len(pending)}", flush=True)
    if pending and run:
        run_mutmut(modules, jobs, pending)
    per_module, survivors = collect(modules)
    status = statuses(modules, chosen)
    tally = Counter(status.values())
    killed = sum(tally[s] for s in KILLED)
    checked = len(chosen) - tally["not checked"]
    sampled_survivors = [s for s in survivors if s["name"] in status]
    equivalent = sum(bool(s["reason"]) for s in sampled_survivors)
    low, high = wilson(killed, checked)
    low_ne, high_ne = wilson(killed, checked - equivalent)
    commit = _commit()
    out = {"written": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "commit": commit, "population": len(population),
           "sample": len(chosen), "seed": seed, "checked": checked, "statuses": dict(tally), "killed": killed,
           "equivalent": equivalent, "score": round(killed / checked, 4) if checked else None,
           "score_95ci": [round(low, 4), round(high, 4)],
           "score_without_equivalent": round(killed / (checked - equivalent), 4) if checked > equivalent else None,
           "score_without_equivalent_95ci": [round(low_ne, 4), round(high_ne, 4)],
           "survivors": sampled_survivors}
    (ROOT / "bench" / "mutation-sample.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    lines = ["# Surviving mutants of a random sample", "",
             f"Written by `python scripts/mutate.py --sample {size}` (seed {seed}, {out['written']}): "
             f"commit {commit}, {len(chosen)} of {len(population)} mutants"
             + (f", {tally['not checked']} of them not checked (the run was stopped)" if tally["not checked"] else "")
             + f"; {killed} of {checked} checked killed, score {out['score']} (95% interval "
             f"{out['score_95ci'][0]}–{out['score_95ci'][1]}); {equivalent} survivors explained in bench/mutation-equivalent.json, "
             f"so {killed} of the other {checked - equivalent} killed: {out['score_without_equivalent']} "
             f"({out['score_without_equivalent_95ci'][0]}–{out['score_without_equivalent_95ci'][1]}).", ""]
    for s in sampled_survivors:
        lines += survivor_section(s)
    (ROOT / "bench" / "mutation-sample.md").write_text("\n".join(lines))
    return out


def last_survivors(modules: list[str]) -> list[str]:
    """Names of the mutants that survived the last run (mutmut reruns a mutant only when named)."""
    os.chdir(ROOT)
    return sorted(n for n, status in statuses(modules).items() if status in ("survived", "no tests", "suspicious"))


def collect(modules: list[str]) -> tuple[dict, list[dict]]:
    os.chdir(ROOT)
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.stats import status_by_exit_code

    equivalent = load_equivalent()
    per_module: dict[str, Counter] = {}
    survivors = []
    for module in modules:
        path = Path("lme_helpers") / f"{module}.py"
        data = SourceFileMutationData(path=path)
        data.load()
        counts: Counter = Counter()
        for name, code in sorted(data.exit_code_by_key.items()):
            status = status_by_exit_code[code]
            counts[status] += 1
            if status in KILLED or status == "not checked":
                continue
            try:
                diff = get_diff_for_mutant(name, path=path)
            except Exception as exc:  # noqa: BLE001 - a diff is a courtesy; the status is what counts
                diff = f"(no diff: {exc})"
            reason = reason_for(equivalent, name, diff)
            if reason:
                counts["equivalent"] += 1
            survivors.append({"name": name, "module": module, "status": status, "reason": reason, "diff": diff})
        per_module[module] = counts
    return per_module, survivors


def score(counts: Counter) -> dict:
    killed = sum(counts[s] for s in KILLED)
    checked = sum(n for s, n in counts.items() if s not in ("not checked", "equivalent"))
    equivalent = counts["equivalent"]
    return {
        "mutants": checked + counts["not checked"],
        "checked": checked,
        "killed": killed,
        "survived": counts["survived"],
        "no_tests": counts["no tests"],
        "suspicious": counts["suspicious"],
        "not_checked": counts["not checked"],
        "equivalent": equivalent,
        "score": round(killed / checked, 4) if checked else None,
        "score_without_equivalent": round(killed / (checked - equivalent), 4) if checked > equivalent else None,
    }


def _commit() -> str:
    """The checked-out commit (short hash), with "+changes" when the working tree differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    return git("rev-parse", "--short", "HEAD") + ("+changes" if git("status", "--porcelain", "--", "lme_helpers", "tests") else "")


def write_report(modules: list[str]) -> dict:
    per_module, survivors = collect(modules)
    total: Counter = Counter()
    for counts in per_module.values():
        total.update(counts)
    import mutmut

    result = {
        "tool": f"mutmut {getattr(mutmut, '__version__', '')}".strip(),
        "written": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": _commit(),
        "modules_run": modules,
        "tests": "the fast tests: unit, property, parity (stored R references), data, inference, charts' values, "
                 "doctests of the mutated modules",
        "overall": score(total),
        "modules": {m: score(c) for m, c in per_module.items()},
        "survivors": survivors,
    }
    bench = ROOT / "bench"
    (bench / "mutation.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    lines = ["# Surviving mutants", "",
             f"Written by `make mutate` ({result['tool']}, {result['written']}, commit {result['commit']}). "
             f"Modules: {', '.join(modules)}"
             + ("." if set(modules) == set(MODULES) else f" ({len(modules)} of the {len(MODULES)} statistics modules)."),
             "",
             "| module | mutants | checked | killed | survived | no tests | equivalent | score | score without equivalent |",
             "|---|---|---|---|---|---|---|---|---|"]
    for m, s in {**result["modules"], "all" if set(modules) == set(MODULES) else "these modules": result["overall"]}.items():
        lines.append(f"| {m} | {s['mutants']} | {s['checked']} | {s['killed']} | {s['survived']} | {s['no_tests']} | "
                     f"{s['equivalent']} | {s['score']} | {s['score_without_equivalent']} |")
    lines.append("")
    for s in survivors:
        lines += survivor_section(s)
    (bench / "mutation-survivors.md").write_text("\n".join(lines))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", default=",".join(MODULES),
                        help=f"comma-separated modules of lme_helpers (default: {','.join(MODULES)})")
    parser.add_argument("--report-only", action="store_true", help="only rewrite bench/ from the kept results")
    parser.add_argument("--survivors", action="store_true", help="run only the mutants that survived last time")
    parser.add_argument("--targeted", action="store_true",
                        help="the functions and tests of bench/mutation-targets.json only, without mutmut's stats run")
    parser.add_argument("--sample", type=int, metavar="N",
                        help="run N mutants drawn at random from all of them and estimate the score")
    parser.add_argument("--seed", type=int, default=2023, help="seed of the --sample draw (default: 2023)")
    args = parser.parse_args()
    modules = [m.strip() for m in args.modules.split(",") if m.strip()]
    unknown = sorted(set(modules) - set(MODULES))
    if unknown:
        parser.error(f"unknown module(s) {unknown}; choose from {', '.join(MODULES)}")
    code = 0
    jobs = int(os.environ.get("MUTATE_JOBS", os.cpu_count() or 2))
    if args.targeted:
        out = run_targeted(jobs)
        print(f"Targeted mutants: {out['killed']} of {out['mutants']} killed ({out['score']}); "
              f"{len(out['survivors'])} survived ({out['equivalent']} explained). "
              "See bench/mutation-targeted.json.")
        return 0
    if args.sample:
        out = run_sample(modules, args.sample, args.seed, jobs, run=not args.report_only)
        print(f"Sampled mutants: {out['killed']} of {out['checked']} checked killed (score {out['score']}, "
              f"95% interval {out['score_95ci'][0]}-{out['score_95ci'][1]}); {len(out['survivors'])} survived "
              f"({out['equivalent']} explained). See bench/mutation-sample.md.")
        return 0
    if args.survivors:
        names = last_survivors(modules)
        print(f"{len(names)} survivors to test again", flush=True)
        if names:
            code = run_mutmut(modules, jobs, names)
    elif not args.report_only:
        code = run_mutmut(modules, jobs)
    if not (ROOT / "mutants").is_dir():
        print("No results in mutants/: run without --report-only first.", file=sys.stderr)
        return code or 1
    result = write_report(modules)
    o = result["overall"]
    print(f"Mutation score: {o['killed']} of {o['checked']} checked mutants killed ({o['score']}); "
          f"{o['survived']} survived ({o['equivalent']} explained), {o['not_checked']} not checked. "
          "See bench/mutation-survivors.md.")
    return code


if __name__ == "__main__":
    sys.exit(main())
