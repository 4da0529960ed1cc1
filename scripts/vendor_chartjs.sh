#!/usr/bin/env bash
# Refresh static/vendor/chartjs/ from the chart.js version pinned in package.json + package-lock.json.
# Runs `npm ci` in a throwaway directory (no node_modules left in the repo), copies the UMD build and
# its source map (whitenoise's manifest storage needs the map beside the file), records the sha256
# that tests/web/test_web_vendor.py checks, and keeps the licence. Commit the results.
set -euo pipefail
cd "$(dirname "$0")/.."

dest=static/vendor/chartjs
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cp package.json package-lock.json "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

mkdir -p "$dest"
cp "$work/node_modules/chart.js/dist/chart.umd.min.js" "$work/node_modules/chart.js/dist/chart.umd.min.js.map" "$dest/"
cp "$work/node_modules/chart.js/LICENSE.md" "$dest/LICENSE.md"
(cd "$dest" && sha256sum chart.umd.min.js > chart.umd.min.js.sha256)
version=$(node -p "require('$work/node_modules/chart.js/package.json').version")
echo "Vendored chart.js $version into $dest:"
cat "$dest/chart.umd.min.js.sha256"
