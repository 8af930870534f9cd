#!/usr/bin/env bash
# Copies the browser libraries the dashboard draws with (package.json, pinned by package-lock.json)
# from the npm registry into solarmon/static/solarmon/vendor/, so every page serves them itself:
# nothing is fetched from another host when a page is shown. Run by `make venv` (and so by
# `make run` and `make test`); installs Debian's nodejs and npm first when they are missing (as root).
set -eu
cd "$(dirname "$0")/.."
out=solarmon/static/solarmon/vendor
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "npm is missing and this is not root: install Debian's nodejs and npm, then run $0" >&2
    exit 1
  fi
  echo "installing Debian's nodejs and npm (to fetch the dashboard's chart library)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
# npm ci installs exactly the locked versions and checks each package's integrity hash.
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
mkdir -p "$out"
cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css "$out/"
cp node_modules/uplot/LICENSE "$out/uPlot.LICENSE"
echo "uPlot $(node -p 'require("./node_modules/uplot/package.json").version') copied to $out"
