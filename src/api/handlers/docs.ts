// API documentation: the generated OpenAPI document and Swagger UI served from the local
// swagger-ui-dist package (no CDN).
import { createRequire } from "node:module";
import { dirname } from "node:path";
import express, { type Request, type Response, type Router } from "express";
import { config } from "../../platform/config.ts";
import { buildOpenApi } from "../openapi.ts";

const assets = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));

export function openapi(router: Router) {
  let doc: unknown = null;
  return (_req: Request, res: Response) => {
    doc ??= buildOpenApi(router, config.publicUrl);
    res.json(doc);
  };
}

export const docsAssets = express.static(assets, { index: false, maxAge: "1d" });

export function docsPage(_req: Request, res: Response) {
  res
    .set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; script-src 'self'")
    .type("html")
    .send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Rapport API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head><body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script><script src="/docs/init.js"></script></body></html>`);
}

export function docsInit(_req: Request, res: Response) {
  res.type("application/javascript").send(`window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui" });`);
}
