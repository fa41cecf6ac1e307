#!/usr/bin/env bash
# Writes a new migration from the schema at a git revision (default HEAD) to the working schema:
#   scripts/db-diff.sh add_campaign_throttle [REV]
# `prisma migrate dev` cannot run offline here (its shadow database cannot be dropped), so migrations
# are diffs between datamodels, applied by `prisma migrate deploy`.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: scripts/db-diff.sh <name> [git-rev]}
rev=${2:-HEAD}
prev=$(mktemp --suffix=.prisma)
trap 'rm -f "$prev"' EXIT
if git cat-file -e "$rev:prisma/schema.prisma" 2>/dev/null; then
  git show "$rev:prisma/schema.prisma" >"$prev"
  from=(--from-schema-datamodel "$prev")
else
  from=(--from-empty)
fi
dir="prisma/migrations/$(date -u +%Y%m%d%H%M%S)_${name}"
mkdir -p "$dir"
npx prisma migrate diff "${from[@]}" --to-schema-datamodel prisma/schema.prisma --script >"$dir/migration.sql"
echo "wrote $dir/migration.sql"
