#!/usr/bin/env bash
# Runs the project's Deno (installed by scripts/setup.sh into tools/node_modules) with any arguments.
here="$(cd "$(dirname "$0")/.." && pwd)"
exec "$here/tools/node_modules/.bin/deno" "$@"
