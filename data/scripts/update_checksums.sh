#!/usr/bin/env bash
# Rewrite data/SHA256SUMS after regenerating the data files.
set -euo pipefail
cd "$(dirname "$0")/.."
sha256sum -- *.csv *.json england_ks4_2022_23_metadata/* > SHA256SUMS
cat SHA256SUMS
