"""Shared fixtures for the test suite."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from lme_helpers import data  # noqa: E402
from lme_helpers.rbridge import r_status  # noqa: E402


@pytest.fixture(scope="session")
def exam() -> pd.DataFrame:
    return data.load("exam")


@pytest.fixture(scope="session")
def sleep() -> pd.DataFrame:
    return data.load("sleepstudy")


@pytest.fixture(scope="session")
def england() -> pd.DataFrame:
    frame = data.load("england_schools")
    frame = frame[frame.ATT8SCR.notna()].copy()
    frame["log_att8"] = np.log(frame.ATT8SCR)
    frame["log_fsm"] = np.log(frame.PTFSM6CLA1A) - np.log(24)
    frame["log_abs"] = np.log(frame.PERCTOT) - np.log(9)
    return frame


@pytest.fixture(scope="session")
def datasets(exam, sleep, england) -> dict[str, pd.DataFrame]:
    return {
        "exam": exam,
        "sleep": sleep,
        "penicillin": data.load("penicillin"),
        "pastes": data.load("pastes"),
        "england": england,
    }


def require_r() -> None:
    """Skip (with the reason printed by -ra) when R with lme4 is not available."""
    status = r_status()
    if not status.available:
        pytest.skip(f"R with lme4 is not available: {status.reason}")
