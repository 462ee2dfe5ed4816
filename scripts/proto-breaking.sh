#!/usr/bin/env bash
# Checks proto/ for breaking changes against a git ref (default main) with
# buf's FILE rules. The protos import google/rpc and google/type from
# node_modules, which the git ref does not hold, so both sides are built into
# images with this checkout's node_modules and the images are compared.
set -euo pipefail
cd "$(dirname "$0")/.."
ref="${1:-main}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

mkdir "$work/base"
git archive "$ref" | tar -x -C "$work/base"
ln -s "$PWD/node_modules" "$work/base/node_modules"
(cd "$work/base" && npx --no-install buf build --path proto/carebook -o "$work/base.binpb")
npx --no-install buf build --path proto/carebook -o "$work/head.binpb"
npx --no-install buf breaking "$work/head.binpb" --against "$work/base.binpb"
echo "no breaking changes against $ref"
