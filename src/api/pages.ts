// Minimal, dependency-free HTML for the public pages (confirmation, unsubscribe, preferences).
// Every interpolated value goes through esc(); pages carry no scripts and forbid framing.
import type { Response } from "express";
import { config } from "../platform/config.ts";

import { escapeHtml as esc } from "../platform/html.ts";

export { esc };

/** Headers of every HTML page we serve: no framing, no referrer, no caching, no indexing. */
export function htmlPageHeaders(csp: string): Record<string, string> {
  return {
    "Content-Security-Policy": csp,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
  };
}

export function sendPage(res: Response, status: number, title: string, bodyHtml: string): void {
  res
    .status(status)
    .set(htmlPageHeaders("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"))
    .type("html")
    .send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#222}
button{font-size:1rem;padding:.6rem 1.2rem;border-radius:.4rem;border:1px solid #335;background:#335;color:#fff;cursor:pointer}
footer{margin-top:3rem;color:#555;font-size:.8rem}label{display:block;margin:.5rem 0}
fieldset{border:1px solid #ccd;border-radius:.4rem;margin:1rem 0;padding:.5rem 1rem}legend{font-weight:600}
select,textarea{font:inherit;width:100%;box-sizing:border-box;padding:.4rem}.hint{color:#555;font-size:.85rem;margin:.2rem 0}
:focus-visible{outline:3px solid #1a5fb4;outline-offset:2px}</style></head>
<body><main><h1>${esc(title)}</h1>${bodyHtml}</main>
<footer>${esc(config.SENDER_NAME)} · ${esc(config.SENDER_POSTAL_ADDRESS)}</footer></body></html>`);
}
