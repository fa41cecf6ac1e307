// Part of `npm run build`: what the compiled program reads from disk next to its modules (console
// views and assets) is copied from src/ to dist/; TypeScript sources and notes are not.
import { cpSync } from "node:fs";

for (const dir of ["console/views", "console/assets"]) {
  cpSync(`src/${dir}`, `dist/${dir}`, { recursive: true, filter: (f) => !f.endsWith(".ts") && !f.endsWith(".md") });
}
