"""The publishing workflow runs where CI and the tests run: a debian:12 container, the CI command."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml
from conftest import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"


def test_build_job_runs_the_ci_command_in_debian_12():
    flow = yaml.safe_load(WORKFLOW.read_text())
    build = flow["jobs"]["build"]
    assert build["container"] == "debian:12"
    runs = [step.get("run", "") for step in build["steps"]]
    assert any(r.strip() == "bash .ci/run" for r in runs)
    assert any("scripts/publish-notebooks.sh" in r for r in runs)
    assert not any("sudo" in r for r in runs)  # root in the container: no sudo there
    assert build["permissions"]["contents"] == "write"
    assert flow["jobs"]["deploy"]["needs"] == "build"


def test_actionlint_passes():
    actionlint = shutil.which("actionlint") or str(ROOT / ".venv" / "bin" / "actionlint")
    if not shutil.which(actionlint):
        pytest.skip("actionlint is not installed (make lint installs it from requirements-lint.txt)")
    proc = subprocess.run([actionlint, str(WORKFLOW)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
