#!/bin/sh
# Builds the back office's two stylesheets into static/css/ (committed; run again after
# changing a .scss file here):  cd themes && npm ci && npm run build
set -eu
cd "$(dirname "$0")"
for theme in light dark; do
  npx sass --no-source-map --style=compressed --load-path=node_modules --quiet-deps \
    --silence-deprecation=import --silence-deprecation=global-builtin --silence-deprecation=color-functions \
    "$theme.scss" "../static/css/theme-$theme.css"
done
