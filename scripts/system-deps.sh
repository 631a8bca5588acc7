#!/usr/bin/env bash
# Install or check the system packages the book needs.
#   scripts/system-deps.sh book   Node.js/npm (required); R with lme4 (optional: built without it otherwise)
#   scripts/system-deps.sh test   as "book", plus Chromium, and R with lme4 required
# On Debian/Ubuntu as root, missing packages are installed with apt-get.
# Elsewhere the script stops and names exactly what to install.
set -euo pipefail
mode="${1:-book}"

R_PACKAGES=(r-base-core r-cran-lme4 r-cran-lmertest r-cran-performance r-cran-jsonlite r-cran-mlmrev r-cran-pbkrtest)
can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    echo "system-deps: apt-get update"
    apt-get update -qq
    apt_updated=1
  fi
  echo "system-deps: apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
r_ok() {
  command -v Rscript >/dev/null 2>&1 &&
    Rscript -e 'quit(status = !all(vapply(c("lme4", "performance", "lmerTest", "jsonlite", "mlmRev", "pbkrtest"), requireNamespace, logical(1), quietly = TRUE)))' >/dev/null 2>&1
}

# Node.js and npm: serve vega and MathJax from the book's own files
if ! command -v npm >/dev/null 2>&1; then
  if can_apt; then apt_install nodejs npm; else
    echo "system-deps: please install Node.js and npm (e.g. 'apt-get install nodejs npm')." >&2; exit 1; fi
fi

# R with lme4: optional for the book, required for the tests
if ! r_ok; then
  if can_apt; then
    apt_install "${R_PACKAGES[@]}"
  elif [ "$mode" = test ]; then
    echo "system-deps: the tests need R with lme4, performance, lmerTest and jsonlite." >&2
    echo "  Debian/Ubuntu: apt-get install ${R_PACKAGES[*]}" >&2
    echo "  Elsewhere: install R, then in R: install.packages(c('lme4', 'performance', 'lmerTest', 'jsonlite'))" >&2
    exit 1
  else
    echo "system-deps: R with lme4 not found; the book will be built without its R output." >&2
    echo "  To include it: apt-get install ${R_PACKAGES[*]} (Debian/Ubuntu)." >&2
  fi
fi

if [ "$mode" = test ]; then
  # Chromium for the browser tests; libatomic1 for the Node.js driver bundled with Playwright.
  if command -v dpkg-query >/dev/null 2>&1; then
    missing=()
    for pkg in chromium libatomic1 fonts-dejavu-core; do
      dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
      if can_apt; then apt_install "${missing[@]}"; else
        echo "system-deps: the browser tests need: ${missing[*]} (Debian: apt-get install ${missing[*]})." >&2; exit 1; fi
    fi
  elif ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
    echo "system-deps: the browser tests need Chromium (and libatomic for Playwright's driver)." >&2; exit 1
  fi
fi
exit 0
