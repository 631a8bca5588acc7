"""Build hook for the lme_helpers wheel: the repository's data/ travels inside the package.

The data files live once, in the repository's ``data/`` folder. When a wheel is built,
the files listed in ``data/SHA256SUMS`` (with that list and ``data/README.md``, which
holds their provenance and licences) are copied into the wheel as
``lme_helpers/_data/``, where :func:`lme_helpers.data.data_dir` finds them with
``importlib.resources``. An editable install reads ``data/`` directly and copies nothing.
Everything else about the package is in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATA = Path(__file__).resolve().parent / "data"
PACKAGED = Path("lme_helpers") / "_data"


def data_files() -> list[str]:
    """The data files to ship, relative to data/: those listed in SHA256SUMS, the list, the README."""
    sums = DATA / "SHA256SUMS"
    if not sums.is_file():
        raise SystemExit(f"{sums} not found: the wheel is built from the repository (or its sdist), with data/.")
    listed = [line.split(maxsplit=1)[1].strip().lstrip("*") for line in sums.read_text().splitlines() if line.strip()]
    missing = [name for name in listed if not (DATA / name).is_file()]
    if missing:
        raise SystemExit(f"data/SHA256SUMS lists files that are not in data/: {', '.join(missing)}")
    return ["SHA256SUMS", "README.md", *listed]


class build_py_with_data(build_py):  # noqa: N801  (setuptools' naming)
    """``build_py`` that also copies the data files into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / PACKAGED
        for name in data_files():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(DATA / name, target / name)


setup(cmdclass={"build_py": build_py_with_data})
