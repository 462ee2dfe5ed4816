#!/usr/bin/env bash
# CI's breaking-change check: proto/ against the previous commit (HEAD~1),
# and against v1 as first published (the commit that added proto/carebook),
# with scripts/proto-breaking.sh, failing on a breaking change. The second
# comparison keeps a break from passing once another commit lands on top of
# it. Skipped, with the reason printed, when there is no previous commit to
# compare with: not a git checkout, the first commit, or a shallow clone cut
# off above it.
set -euo pipefail
cd "$(dirname "$0")/.."

skip() {
  echo "buf breaking skipped: $1"
  exit 0
}

git rev-parse --is-inside-work-tree >/dev/null 2>&1 || skip "not a git checkout"
if ! base="$(git rev-parse --verify --quiet 'HEAD~1^{commit}')"; then
  if [ "$(git rev-parse --is-shallow-repository)" = true ]; then
    skip "shallow clone without the previous commit (fetch with --depth 2 or more to check)"
  fi
  skip "HEAD is the first commit, there is nothing to compare with"
fi
# In a shallow clone the parent may be named but its tree absent.
git cat-file -e "$base^{tree}" 2>/dev/null || skip "the previous commit $base is not available in this clone"

echo "buf breaking against the previous commit $base"
bash scripts/proto-breaking.sh "$base"

# No pipe into head: under pipefail, git killed by SIGPIPE when head exits
# early would fail the whole check (exit 141).
added="$(git log --diff-filter=A --format=%H --reverse -- proto/carebook)"
v1="${added%%$'\n'*}"
if [ -n "$v1" ] && [ "$v1" != "$base" ] && git cat-file -e "$v1^{tree}" 2>/dev/null; then
  echo "buf breaking against v1 as first published, $v1"
  bash scripts/proto-breaking.sh "$v1"
else
  echo "buf breaking against v1 as first published skipped: its commit is the previous one or not in this clone"
fi
