// Console scripts and styles, served by the engine itself (no CDN, no build step): our own files
// and the distributed builds of htmx and uPlot from node_modules (their licences ship with them).
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Request, Response } from "express";
import { AppError } from "../platform/errors.ts";

const require = createRequire(import.meta.url);
const here = join(dirname(fileURLToPath(import.meta.url)), "assets");
const pkg = (name: string) => dirname(require.resolve(`${name}/package.json`));

const FILES: Record<string, string> = {
  "console.css": join(here, "console.css"),
  "console.js": join(here, "console.js"),
  "htmx.min.js": join(pkg("htmx.org"), "dist/htmx.min.js"),
  "uPlot.iife.min.js": join(pkg("uplot"), "dist/uPlot.iife.min.js"),
  "uPlot.min.css": join(pkg("uplot"), "dist/uPlot.min.css"),
};

export function asset(req: Request, res: Response) {
  const file = FILES[String(req.params.file)];
  if (!file) throw new AppError("not_found", "No such console asset");
  res.set({ "Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff" }).sendFile(file);
}
