#!/usr/bin/env bash
# Fetches the front-end files Entente serves itself (so the query page works offline) from the npm
# registry and copies them into server/web/static/vendor/ (gitignored). Safe to run again: it does
# nothing when the pinned version is already in place.
#   @zazuko/yasgui 4.6.2 — the SPARQL editor + result viewer of the query page (MIT).
# The package tarball is kept in a cache (ENTENTE_VENDOR_CACHE, default ~/.cache/entente/npm);
# `npm pack` checks it against the registry's integrity hash when it downloads it.
set -euo pipefail
cd "$(dirname "$0")/.."

YASGUI_VERSION=4.6.2
dest=server/web/static/vendor/yasgui
stamp="$dest/VERSION"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$YASGUI_VERSION" ] \
   && [ -s "$dest/yasgui.min.js" ] && [ -s "$dest/yasgui.min.css" ]; then
  exit 0
fi

cache="${ENTENTE_VENDOR_CACHE:-$HOME/.cache/entente/npm}"
mkdir -p "$cache"
tarball="$cache/zazuko-yasgui-$YASGUI_VERSION.tgz"
if [ ! -s "$tarball" ]; then
  echo "vendor: fetching @zazuko/yasgui@$YASGUI_VERSION from the npm registry"
  (cd "$cache" && npm pack "@zazuko/yasgui@$YASGUI_VERSION" --silent >/dev/null)
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tar -xzf "$tarball" -C "$work" package/build/yasgui.min.js package/build/yasgui.min.css package/package.json
mkdir -p "$dest"
cp "$work/package/build/yasgui.min.js" "$work/package/build/yasgui.min.css" "$dest/"
cp "$work/package/package.json" "$dest/package.json"
echo "$YASGUI_VERSION" > "$stamp"
echo "vendor: @zazuko/yasgui $YASGUI_VERSION in $dest"
