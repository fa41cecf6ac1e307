// Prisma CLI configuration. Uses the JavaScript schema engine through a driver adapter so that
// `migrate deploy` and `migrate diff` work offline (no native engine download).
import { defineConfig } from "prisma/config";
import { PrismaPg } from "adapter-pg-migrate";

// Single place the CLI learns the database; the same default as src/platform/config.ts.
process.env.DATABASE_URL ??= "postgresql://postgres@127.0.0.1:5432/rapport";
const url = process.env.DATABASE_URL;

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  engine: "js",
  experimental: { adapter: true },
  async adapter() {
    return new PrismaPg({ connectionString: url });
  },
});
