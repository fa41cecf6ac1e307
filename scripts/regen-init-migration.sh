#!/usr/bin/env bash
# Regenerates the initial migration from scratch (only while nothing has been released).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=prisma/migrations/20261124000000_init
mkdir -p "$dir"
npx prisma migrate diff --from-empty --to-schema-datamodel prisma/schema.prisma --script >"$dir/migration.sql"
cat prisma/sql/*.sql >>"$dir/migration.sql"
[ -f prisma/migrations/migration_lock.toml ] || printf 'provider = "postgresql"\n' >prisma/migrations/migration_lock.toml
echo "wrote $dir/migration.sql"
