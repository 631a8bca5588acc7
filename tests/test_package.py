"""The package's import behaviour and the R bridge's cached answer about R."""

from __future__ import annotations

import subprocess
import sys
import types

import lme_helpers as lh
from lme_helpers import rbridge


def test_import_is_light_and_every_public_name_resolves():
    code = ("import sys, lme_helpers as lh; heavy = [m for m in ('statsmodels', 'scipy', 'altair') if m in sys.modules];"
            "print(heavy); [getattr(lh, n) for n in lh.__all__]; print('statsmodels' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["[]", "True"], out


def test_submodule_import_does_not_shadow_the_function():
    import lme_helpers.pooling  # noqa: F401  (binds lme_helpers.pooling, not lme_helpers.shrinkage)

    assert callable(lh.shrinkage) and not isinstance(lh.shrinkage, types.ModuleType)
    assert isinstance(lh.data, types.ModuleType)
    assert set(lh.__all__) <= set(dir(lh))


def test_unknown_name_is_an_attribute_error():
    try:
        lh.fitt  # noqa: B018
    except AttributeError as exc:
        assert "fitt" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("lh.fitt should not exist")


def _fake_r(monkeypatch, tmp_path, calls):
    rscript = tmp_path / "Rscript"
    rscript.write_text("")
    library = tmp_path / "library"
    library.mkdir()
    monkeypatch.delenv("LME_HELPERS_NO_R", raising=False)
    monkeypatch.setenv(rbridge.STATUS_CACHE_ENV, str(tmp_path / "cache" / "r_status.json"))
    monkeypatch.setattr(rbridge.shutil, "which", lambda name: str(rscript))

    def probe(path):
        calls.append(path)
        return rbridge.RStatus(True, path, {"R": "4.2.2", "lme4": "1.1.31"}, ""), [str(library)]

    monkeypatch.setattr(rbridge, "_probe_r", probe)
    return rscript, library


def test_r_status_is_reused_until_r_libraries_change(monkeypatch, tmp_path):
    calls: list = []
    rscript, library = _fake_r(monkeypatch, tmp_path, calls)
    try:
        rbridge.r_status.cache_clear()
        first = rbridge.r_status()
        rbridge.r_status.cache_clear()
        assert rbridge.r_status() == first and len(calls) == 1  # answered from the file
        (library / "lme4").mkdir()  # a package installed: the library folder changes
        rbridge.r_status.cache_clear()
        assert rbridge.r_status() == first and len(calls) == 2
        rscript.write_text("#!/bin/sh\n")  # R itself upgraded
        rbridge.r_status.cache_clear()
        rbridge.r_status()
        assert len(calls) == 3
    finally:
        rbridge.r_status.cache_clear()


def test_r_status_ignores_a_corrupt_cache(monkeypatch, tmp_path):
    calls: list = []
    _fake_r(monkeypatch, tmp_path, calls)
    cache = tmp_path / "cache" / "r_status.json"
    cache.parent.mkdir()
    cache.write_text("{not json")
    try:
        rbridge.r_status.cache_clear()
        assert rbridge.r_status().available and len(calls) == 1
        assert '"lme4"' in cache.read_text()  # rewritten
    finally:
        rbridge.r_status.cache_clear()
