#!/usr/bin/env bash
# Commit the built notebooks (_build/notebooks) on top of the repository's files to the
# notebooks branch named in _config.yml (sphinx.config.lme_notebooks_branch), and push it.
# The Binder and Colab buttons of every chapter open the notebooks there.
#
#   scripts/publish-notebooks.sh [REMOTE]     (default remote: origin)
#
# Run after 'make book' in a clone (the publishing workflow does). The branch holds one
# commit, replaced on every run: the source tree of HEAD (binder/, lme_helpers/, data/,
# book/ with its R scripts), plus book/NAME.ipynb (executed, with outputs) and
# book/NAME_student.ipynb (exercises without solutions).
set -euo pipefail
cd "$(dirname "$0")/.."
remote="${1:-origin}"
built=_build/notebooks
py="${PYTHON:-.venv/bin/python}"
[ -x "$py" ] || py=python3

branch="$("$py" -c 'import sys, yaml; print(yaml.safe_load(open("_config.yml"))["sphinx"]["config"]["lme_notebooks_branch"])')"
if [ ! -d "$built/book" ] || [ -z "$(find "$built" -name '*.ipynb' -print -quit)" ]; then
  echo "publish-notebooks: no notebooks in $built; run 'make book' first." >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'git worktree remove --force "$work" >/dev/null 2>&1 || rm -rf "$work"' EXIT
git worktree add --quiet --detach "$work" HEAD
cp -R "$built/." "$work/"
source_commit="$(git rev-parse HEAD)"
(
  cd "$work"
  git add --force -- book
  git -c user.name="${GIT_AUTHOR_NAME:-notebooks publisher}" -c user.email="${GIT_AUTHOR_EMAIL:-notebooks@localhost}" \
    commit --quiet -m "Executed and student notebooks built from $source_commit"
  git push --quiet --force "$remote" "HEAD:refs/heads/$branch"
)
echo "publish-notebooks: pushed $(find "$built" -name '*.ipynb' | wc -l) notebooks to $remote $branch (from $source_commit)"
