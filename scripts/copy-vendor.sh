#!/usr/bin/env bash
# Copy the pinned front-end libraries from node_modules into the book's static files.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=book/_static/vendor
mkdir -p "$dest/mathjax" "$dest/reveal"
cp node_modules/vega/build/vega.min.js "$dest/vega.min.js"
cp node_modules/vega-lite/build/vega-lite.min.js "$dest/vega-lite.min.js"
cp node_modules/vega-embed/build/vega-embed.min.js "$dest/vega-embed.min.js"
cp node_modules/mathjax/es5/tex-svg-full.js "$dest/mathjax/tex-svg-full.js"
# reveal.js for the slide decks: the UMD build, its stylesheet and the speaker-notes plugin
cp node_modules/reveal.js/dist/reveal.js node_modules/reveal.js/dist/reveal.css "$dest/reveal/"
cp node_modules/reveal.js/dist/plugin/notes.js "$dest/reveal/notes.js"
cp node_modules/reveal.js/LICENSE "$dest/reveal/LICENSE"
for pkg in vega vega-lite vega-embed mathjax reveal.js; do
  printf '%s %s\n' "$pkg" "$(node -p "require('./node_modules/$pkg/package.json').version")"
done > "$dest/VERSIONS"
