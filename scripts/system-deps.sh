#!/usr/bin/env bash
# Install or check the system packages the book needs.
#   scripts/system-deps.sh book   Node.js/npm (required); R with lme4 (optional: built without it otherwise)
#   scripts/system-deps.sh test   as "book", plus Chromium, and R with lme4 required
# On Debian/Ubuntu as root, missing packages are installed with apt-get. Elsewhere (no root,
# other Linux, macOS) nothing is installed: the script stops and names what to install, with
# the command for this system (apt-get, dnf, pacman, zypper or Homebrew).
#
# A successful check is remembered in $LME_SYSTEM_CACHE (default _build/.system-deps-MODE): the
# next call answers from it without starting R, for as long as the programs found, R's library
# folders and the installed package lists are unchanged. LME_SYSTEM_CACHE=none turns this off.
set -euo pipefail
mode="${1:-book}"
case "$mode" in book|test) ;; *) echo "usage: $0 book|test" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."

R_DEBIAN=(r-base-core r-cran-lme4 r-cran-lmertest r-cran-performance r-cran-jsonlite r-cran-mlmrev)
R_PKGS=(lme4 lmerTest performance jsonlite mlmRev)
if [ "$mode" = test ]; then  # the tests also compare the parametric bootstrap with pbkrtest's
  R_DEBIAN+=(r-cran-pbkrtest)
  R_PKGS+=(pbkrtest)
fi
r_vector() { local out="" p; for p in "${R_PKGS[@]}"; do out+="${out:+, }\"$p\""; done; echo "c($out)"; }
R_CRAN="install.packages($(r_vector))"
cache="${LME_SYSTEM_CACHE:-_build/.system-deps-$mode}"

# ---- the cached answer ---------------------------------------------------------------------
stamp_of() { [ -e "$1" ] && stat -c '%n %Y %s' "$1" 2>/dev/null || stat -f '%N %m %z' "$1" 2>/dev/null || echo "$1 -"; }
real_path() { local p; p="$(command -v "$1" 2>/dev/null)" || { echo "$1:none"; return; }; readlink -f "$p" 2>/dev/null || echo "$p"; }
environment_key() {
  # what the answer depends on: the programs found, R's library folders (recorded by the
  # last R run) with the book's packages in them, and the package managers' databases
  {
    echo "mode=$mode uid=$(id -u) chromium=${CHROMIUM:-}"
    for prog in npm node Rscript chromium chromium-browser google-chrome; do stamp_of "$(real_path "$prog")"; done
    for f in /var/lib/dpkg/status /usr/local/Cellar /opt/homebrew/Cellar; do stamp_of "$f"; done
    if [ -f "$cache.libs" ]; then
      while IFS= read -r lib; do
        stamp_of "$lib"
        for pkg in "${R_PKGS[@]}"; do stamp_of "$lib/$pkg/DESCRIPTION"; done
      done < "$cache.libs"
    fi
  } | cksum
}
if [ "$cache" != none ] && [ -f "$cache" ]; then
  key="$(environment_key)"
  if [ "$(head -n 1 "$cache")" = "$key" ]; then
    tail -n +2 "$cache" >&2  # the notes the full check printed
    exit 0
  fi
fi

# ---- what to install, by system --------------------------------------------------------------
can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
installer() {  # the command that installs packages on this system, for the messages
  if [ "$(uname -s)" = Darwin ]; then echo "brew install"
  elif command -v apt-get >/dev/null 2>&1; then echo "sudo apt-get install"
  elif command -v dnf >/dev/null 2>&1; then echo "sudo dnf install"
  elif command -v pacman >/dev/null 2>&1; then echo "sudo pacman -S"
  elif command -v zypper >/dev/null 2>&1; then echo "sudo zypper install"
  else echo ""; fi
}
how() {  # how to install: $1 Debian names, $2 Homebrew names, $3 dnf/pacman/zypper names
  local cmd; cmd="$(installer)"
  case "$cmd" in
    "brew install") echo "brew install $2" ;;
    "sudo apt-get install") echo "sudo apt-get install $1" ;;
    "") echo "install $3 with your system's package manager" ;;
    *) echo "$cmd $3" ;;
  esac
}
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
r_libraries=""
r_ok() {
  command -v Rscript >/dev/null 2>&1 || return 1
  local out
  out="$(Rscript -e "cat(.libPaths(), sep = '\n'); quit(status = !all(vapply($(r_vector), requireNamespace, logical(1), quietly = TRUE)))" 2>/dev/null)" || { r_libraries="$out"; return 1; }
  r_libraries="$out"
}
notes=""
note() { echo "$1" >&2; notes="$notes$1"$'\n'; }
missing=()
fail() { echo "system-deps: $1" >&2; missing+=("$1"); }

# ---- Node.js and npm: serve vega and MathJax from the book's own files --------------------------
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  if can_apt; then apt_install nodejs npm; else
    fail "Node.js and npm are needed to build the book: $(how "nodejs npm" node "nodejs npm")"; fi
fi

# ---- R with lme4: optional for the book, required for the tests --------------------------------
if ! r_ok; then
  if can_apt; then
    apt_install "${R_DEBIAN[@]}"
    r_ok || true
  elif [ "$mode" = test ]; then
    fail "the tests need R with ${R_PKGS[*]}: $(how "${R_DEBIAN[*]}" r "R") (then in R, unless your system packages them: $R_CRAN)"
  else
    note "system-deps: R with lme4 not found; the book will be built without its R output."
    note "  To include it: $(how "${R_DEBIAN[*]}" r "R"), then in R (unless your system packages them): $R_CRAN"
  fi
fi

# ---- Chromium for the browser tests ----------------------------------------------------------
if [ "$mode" = test ]; then
  if [ -n "${CHROMIUM:-}" ]; then
    [ -x "$CHROMIUM" ] || fail "CHROMIUM=$CHROMIUM is not an executable file"
  elif command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    # Debian's packages; libatomic1 for the Node.js driver bundled with Playwright
    debs=()
    for pkg in chromium libatomic1 fonts-dejavu-core; do
      dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || debs+=("$pkg")
    done
    if [ "${#debs[@]}" -gt 0 ]; then
      if can_apt; then apt_install "${debs[@]}"; else
        fail "the browser tests need: ${debs[*]} ($(how "${debs[*]}" "" ""))"; fi
    fi
  elif ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 \
      && ! command -v google-chrome >/dev/null 2>&1; then
    fail "the browser tests need Chromium or Chrome on the PATH, or CHROMIUM=/path/to/it: $(how chromium "--cask chromium" chromium)"
  fi
fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "system-deps: install the above, then run make again." >&2
  exit 1
fi

# ---- remember the answer -----------------------------------------------------------------------
if [ "$cache" != none ]; then
  if mkdir -p "$(dirname "$cache")" 2>/dev/null; then
    printf '%s\n' "$r_libraries" | grep -v '^$' > "$cache.libs" || true
    { environment_key; printf '%s' "$notes"; } > "$cache.tmp" 2>/dev/null && mv "$cache.tmp" "$cache" || true
  fi
fi
exit 0
