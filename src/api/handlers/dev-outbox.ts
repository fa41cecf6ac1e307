// Development outbox pages (mounted only without SMTP_URL, outside production: see routes.ts).
// Every value printed is escaped; the email's own HTML is shown only inside a sandboxed iframe
// (no scripts, no forms, no same-origin access) through srcdoc.
import type { Request, Response } from "express";
import * as outbox from "../../modules/dev-outbox/outbox.service.ts";
import { esc, htmlPageHeaders } from "../pages.ts";
import { idParam, listQuery, query } from "../validate.ts";

function page(res: Response, title: string, body: string): void {
  res
    // The srcdoc frame inherits this policy: inline styles and images render, scripts never run.
    .set(htmlPageHeaders("default-src 'none'; style-src 'unsafe-inline'; img-src http: https: data:; frame-ancestors 'none'"))
    .type("html")
    .send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #ddd;vertical-align:top;font-size:.9rem}
th{background:#f4f4f6}td.h{white-space:nowrap;color:#555}iframe{width:100%;height:36rem;border:1px solid #ccc}
pre{white-space:pre-wrap;background:#f7f7f7;padding:1rem;border:1px solid #ddd}small{color:#777}</style></head>
<body>${body}</body></html>`);
}

const wantsJson = (req: Request) => req.accepts(["html", "json"]) === "json";
const link = (href: string, text: string) => `<a href="${esc(href)}">${esc(text)}</a>`;

export async function list(req: Request, res: Response) {
  const q = query(req, listQuery);
  const result = await outbox.listOutbox(q.limit, q.cursor);
  if (wantsJson(req)) {
    res.json({
      data: result.data.map((m) => ({ ...m, links: { self: `/dev/outbox/${m.id}`, raw: `/dev/outbox/${m.id}/raw` } })),
      nextCursor: result.nextCursor,
    });
    return;
  }
  const rows = result.data
    .map((m) => `<tr><td class="h">${esc(m.receivedAt)}</td><td>${esc(m.to.join(", "))}</td>
<td>${link(`/dev/outbox/${m.id}`, m.subject ?? "(no subject)")}</td>
<td>${link(`/dev/outbox/${m.id}`, "view")} · ${link(`/dev/outbox/${m.id}/raw`, "raw")}</td></tr>`)
    .join("\n");
  const more = result.nextCursor ? `<p>${link(`/dev/outbox?limit=${q.limit}&cursor=${result.nextCursor}`, "Older messages")}</p>` : "";
  page(res, "Dev outbox", `<h1>Dev outbox</h1>
<p><small>Mail captured by the embedded SMTP server (SMTP_URL is unset). Clear it with <code>curl -X DELETE ${esc(req.protocol)}://${esc(req.get("host") ?? "")}/dev/outbox</code>.</small></p>
${rows ? `<table><thead><tr><th>Received (UTC)</th><th>To</th><th>Subject</th><th>Links</th></tr></thead><tbody>${rows}</tbody></table>` : "<p>No messages yet.</p>"}
${more}`);
}

export async function show(req: Request, res: Response) {
  const m = await outbox.getOutboxMessage(idParam(req, "Outbox message"));
  if (wantsJson(req)) {
    res.json(m);
    return;
  }
  const headers = m.headers.map((h) => `<tr><td class="h">${esc(h.name)}</td><td>${esc(h.value)}</td></tr>`).join("\n");
  const links = m.links.map((u) => `<li><a href="${esc(u)}" target="_blank" rel="noopener noreferrer">${esc(u)}</a></li>`).join("");
  const files = m.attachments.map((a) => `<li>${esc(a.filename ?? "(unnamed)")} <small>${esc(a.contentType)}, ${a.size} bytes</small></li>`).join("");
  page(res, m.subject ?? "(no subject)", `<p>${link("/dev/outbox", "← Outbox")} · ${link(`/dev/outbox/${m.id}/raw`, "Raw message")}</p>
<h1>${esc(m.subject ?? "(no subject)")}</h1>
<table><tbody>
<tr><td class="h">Envelope from</td><td>${esc(m.from ?? "")}</td></tr>
<tr><td class="h">Envelope to</td><td>${esc(m.to.join(", "))}</td></tr>
<tr><td class="h">Received</td><td>${esc(m.receivedAt)}</td></tr>
${headers}
</tbody></table>
<h2>HTML part</h2>
${m.html !== null ? `<iframe sandbox="" referrerpolicy="no-referrer" title="HTML part" srcdoc="${esc(m.html)}"></iframe>` : "<p>No HTML part.</p>"}
<h2>Text part</h2>
${m.text !== null ? `<pre>${esc(m.text)}</pre>` : "<p>No text part.</p>"}
${links ? `<h2>Links</h2><ul>${links}</ul>` : ""}
${files ? `<h2>Attachments</h2><ul>${files}</ul>` : ""}`);
}

export async function raw(req: Request, res: Response) {
  const text = await outbox.rawOutboxMessage(idParam(req, "Outbox message"));
  res.set({ "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store" }).type("text/plain; charset=utf-8").send(text);
}

export async function clear(_req: Request, res: Response) {
  await outbox.clearOutbox();
  res.status(204).end();
}
