// The console's own Handlebars instance (never the email templates' isolated environment): views
// and partials are read and compiled once, from src/console/views. Everything is escaped by default.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Response } from "express";
import Handlebars from "handlebars";
import { htmlPageHeaders } from "../api/pages.ts";

const hbs = Handlebars.create();
const dir = join(dirname(fileURLToPath(import.meta.url)), "views");

hbs.registerHelper({
  eq: (a: unknown, b: unknown) => a === b,
  not: (a: unknown) => !a,
  or: (...args: unknown[]) => args.slice(0, -1).some(Boolean),
  json: (v: unknown) => JSON.stringify(v ?? null, null, 2),
  number: (n: unknown) => (typeof n === "number" ? n.toLocaleString("en") : String(n ?? "")),
  date: (iso: unknown) => (typeof iso === "string" ? iso.replace("T", " ").slice(0, 16) + " UTC" : ""),
  join: (list: unknown) => (Array.isArray(list) ? list.join("\n") : ""),
});

const views = new Map<string, HandlebarsTemplateDelegate>();
for (const f of readdirSync(join(dir, "partials"))) {
  const compiled = hbs.compile(readFileSync(join(dir, "partials", f), "utf8"));
  hbs.registerPartial(f.replace(/\.hbs$/, ""), compiled);
  views.set(`partials/${f.replace(/\.hbs$/, "")}`, compiled);
}
for (const f of readdirSync(dir).filter((f) => f.endsWith(".hbs"))) views.set(f.replace(/\.hbs$/, ""), hbs.compile(readFileSync(join(dir, f), "utf8")));

export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

function view(name: string): HandlebarsTemplateDelegate {
  const v = views.get(name);
  if (!v) throw new Error(`No console view '${name}'`);
  return v;
}

/** A fragment (htmx swaps) without the layout. */
export function renderFragment(res: Response, name: string, data: object, status = 200): void {
  res.status(status).set(htmlPageHeaders(CONSOLE_CSP)).type("html").send(view(name)(data));
}

/** A whole page: the view inside the layout. `data.title` names the page; `data.nav` marks the current item. */
export function renderPage(res: Response, name: string, data: { title: string } & Record<string, unknown>, status = 200): void {
  const ctx = { ...res.locals.console, ...data };
  const body = view(name)(ctx);
  res.status(status).set(htmlPageHeaders(CONSOLE_CSP)).type("html").send(view("layout")({ ...ctx, body }));
}
