"""Launch buttons that open each chapter as an executed notebook, in Binder and in Colab.

Jupyter Book's own launch buttons point at the chapter's source, a MyST Markdown file:
Binder shows it as text unless jupytext is set up, and Colab opens only ``.ipynb``
files. The book therefore publishes its notebooks and launches those:

- every build writes the tree to publish into ``_build/notebooks/``: for each
  executable chapter ``book/NAME.ipynb`` (the executed notebook with its outputs, as
  downloaded from the page) and, for chapters with exercises, ``book/NAME_student.ipynb``
  (without solutions). Each starts with a small set-up cell (:func:`setup_cell`);
- the publishing workflow commits that tree, on top of the repository's files, to the
  branch named by ``lme_notebooks_branch`` in ``_config.yml`` (``scripts/publish-notebooks.sh``);
- the launch menu of each page offers Binder and Colab for the full notebook and, where
  there is one, for the student notebook, on that branch. Binder builds the branch's
  ``binder/`` environment and opens the notebook in JupyterLab; Colab opens it from GitHub.

Every URL is made from the settings in ``_config.yml`` (``repository.url``,
``repository.branch``, ``launch_buttons.binderhub_url`` and ``colab_url``, and
``sphinx.config.lme_notebooks_branch``), read here through Sphinx's configuration.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

OUT_DIR = "notebooks"  # _build/notebooks: the tree the workflow publishes
STUDENT_SUFFIX = "_student"
SETUP_CELL_ID = "lme-setup"


@dataclass(frozen=True)
class Launch:
    """The settings every launch URL is made from."""

    repository_url: str  # https://github.com/OWNER/REPO
    source_branch: str
    notebooks_branch: str
    binderhub_url: str
    colab_url: str

    @property
    def owner_repo(self) -> str:
        parts = self.repository_url.rstrip("/").removesuffix(".git").split("github.com/")
        if len(parts) != 2 or parts[1].count("/") != 1:
            raise ValueError(f"repository.url in _config.yml must be https://github.com/OWNER/REPO, "
                             f"not {self.repository_url!r}")
        return parts[1]

    def binder(self, path: str) -> str:
        """Binder: build the notebooks branch and open ``path`` (relative to the repository) in JupyterLab."""
        return f"{self.binderhub_url.rstrip('/')}/v2/gh/{self.owner_repo}/{self.notebooks_branch}?urlpath=lab/tree/{path}"

    def colab(self, path: str) -> str:
        """Colab: open ``path`` from the notebooks branch on GitHub."""
        return f"{self.colab_url.rstrip('/')}/github/{self.owner_repo}/blob/{self.notebooks_branch}/{path}"


def settings(config) -> Launch:
    """The launch settings from Sphinx's configuration (which Jupyter Book fills from ``_config.yml``)."""
    theme = config.html_theme_options or {}
    buttons = theme.get("launch_buttons", {}) or {}
    return Launch(
        repository_url=theme.get("repository_url", ""),
        source_branch=theme.get("repository_branch") or "main",
        notebooks_branch=config.lme_notebooks_branch,
        binderhub_url=buttons.get("binderhub_url", "") or "",
        colab_url=buttons.get("colab_url", "") or "",
    )


def setup_cell(launch: Launch) -> dict:
    """The first cell of every published notebook: installs lme_helpers where it is missing.

    Where ``lme_helpers`` imports (Binder, a local copy of the book) it does nothing. Elsewhere
    (Colab) it fetches the published branch, installs the package from it (with its data) and
    works in its ``book/`` folder, where the chapters' R scripts are.
    """
    source = (
        "# Set-up: where lme_helpers is not installed (e.g. on Colab), fetch the book, install it\n"
        "# and work in its book/ folder. Elsewhere this cell does nothing.\n"
        "import importlib.util, os, subprocess, sys\n"
        "if importlib.util.find_spec(\"lme_helpers\") is None:\n"
        f"    subprocess.run([\"git\", \"clone\", \"--quiet\", \"--depth=1\", \"--branch={launch.notebooks_branch}\",\n"
        f"                    \"{launch.repository_url}\", \"book-repository\"], check=True)\n"
        "    subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"--quiet\", \"./book-repository\"], check=True)\n"
        "    os.chdir(\"book-repository/book\")"
    )
    return {"cell_type": "code", "execution_count": None, "id": SETUP_CELL_ID, "metadata": {}, "outputs": [],
            "source": source}


def published_paths(docname: str, student: bool) -> list[str]:
    """Paths (relative to the repository) of a page's published notebooks: full first, then student."""
    paths = [f"{docname}.ipynb"]
    if student:
        paths.append(f"{docname}{STUDENT_SUFFIX}.ipynb")
    return paths


def launch_buttons(launch: Launch, docname: str, student: bool) -> list[dict]:
    """The entries of a page's launch menu."""
    full, *rest = published_paths(docname, student)
    buttons = [
        _button("Binder", "Open this chapter as a notebook with its outputs in Binder (JupyterLab with R)",
                launch.binder(full), "_static/images/logo_binder.svg", "launch-binder"),
        _button("Colab", "Open this chapter as a notebook with its outputs in Google Colab",
                launch.colab(full), "_static/images/logo_colab.png", "launch-colab"),
    ]
    if rest:
        buttons += [
            _button("Binder (student)", "Open the exercises without solutions in Binder",
                    launch.binder(rest[0]), "_static/images/logo_binder.svg", "launch-binder-student"),
            _button("Colab (student)", "Open the exercises without solutions in Google Colab",
                    launch.colab(rest[0]), "_static/images/logo_colab.png", "launch-colab-student"),
        ]
    return buttons


def _button(text: str, tooltip: str, url: str, icon: str, label: str) -> dict:
    return {"type": "link", "text": text, "tooltip": tooltip, "url": url, "icon": icon, "label": label}


def replace_launch_buttons(app, pagename: str, context: dict, student: bool) -> None:
    """Put the book's launch menu in place of the theme's (which points at the MyST source)."""
    groups = context.get("header_buttons", [])
    for group in groups:
        if group.get("label") == "launch-buttons":
            group["buttons"] = launch_buttons(settings(app.config), pagename, student)
            group["tooltip"] = "Open this chapter as a runnable notebook"


def write_published_tree(app, executed: dict[str, Path], student: dict[str, Path]) -> None:
    """Write ``_build/notebooks/``: each executed and student notebook under its published path,
    with the set-up cell first. Files are rewritten only when their content changes."""
    launch = settings(app.config)
    out = Path(app.outdir).parent / OUT_DIR
    wanted: dict[Path, str] = {}
    for docname, source in executed.items():
        wanted[out / published_paths(docname, False)[0]] = _with_setup_cell(source, launch)
    for docname, source in student.items():
        wanted[out / published_paths(docname, True)[1]] = _with_setup_cell(source, launch)
    if out.exists():
        for old in out.rglob("*.ipynb"):
            if old not in wanted:
                old.unlink()
    for target, text in wanted.items():
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")


def _with_setup_cell(source: Path, launch: Launch) -> str:
    nb = json.loads(source.read_text(encoding="utf-8"))
    nb["cells"] = [setup_cell(launch)] + [c for c in nb["cells"] if c.get("id") != SETUP_CELL_ID]
    nb.setdefault("metadata", {}).setdefault("colab", {"provenance": []})
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def clear(app) -> None:
    """Remove the published tree (when every chapter is executed again)."""
    shutil.rmtree(Path(app.outdir).parent / OUT_DIR, ignore_errors=True)
