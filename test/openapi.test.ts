// The API description (OpenAPI 3.1): every operation of the route table has a tag, a summary and a
// documented success response, and what the engine really answers validates against it.
import "./support/webhook-env.ts";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { beforeAll, describe, expect, it } from "vitest";
import { buildOpenApi } from "../src/api/openapi.ts";
import { routes } from "../src/api/routes.ts";
import { useHarness } from "./support/harness.ts";
import { apiTour, type TourStop } from "./support/tour.ts";

const h = useHarness();
type Doc = ReturnType<typeof buildOpenApi>;
type Op = { tags: string[]; summary: string; responses: Record<string, { content?: Record<string, { schema: unknown }> }> };
const ops = (doc: Doc) =>
  Object.entries(doc.paths).flatMap(([path, byMethod]) => Object.entries(byMethod).map(([method, op]) => ({ path, method, op: op as Op })));

/** The OpenAPI path of an Express route key: "GET /v1/topics/:key" -> ["get", "/v1/topics/{key}"]. */
const oa = (route: string) => [route.split(" ")[0].toLowerCase(), route.split(" ")[1].replace(/:(\w+)/g, "{$1}")] as const;

let doc: Doc;
let stops: TourStop[];
beforeAll(async () => {
  doc = (await h.api("GET", "/openapi.json", undefined, { key: null })).body;
  stops = await apiTour(h);
}, 120_000);

describe("OpenAPI description", () => {
  it("when the route table is described, then every operation has a tag, a summary and a 2xx response with a schema or a body-less status", () => {
    // The development outbox routes too (mounted only without SMTP_URL).
    const full = buildOpenApi(routes({ devOutbox: true }), "http://x");
    expect(full.openapi).toBe("3.1.0");
    const all = ops(full);
    expect(all.length).toBeGreaterThan(70);
    const tagNames = new Set(full.tags.map((t) => t.name));
    const undocumented = all.filter(({ op }) => {
      const twoxx = Object.entries(op.responses).filter(([s]) => /^[23]\d\d$/.test(s));
      const described = twoxx.some(([s, r]) => s === "204" || /^3/.test(s) || Object.values(r.content ?? {}).some((c) => c.schema));
      return !described || !op.summary || op.tags.length !== 1 || !tagNames.has(op.tags[0]);
    });
    expect(undocumented.map((o) => `${o.method} ${o.path}`)).toEqual([]);
    // /v1 JSON operations answer with a named schema (a type in the client), not a bare object.
    const bare = all.filter(({ path, op }) => path.startsWith("/v1/") && Object.values(op.responses).some((r) => r.content?.["application/json"] && !JSON.stringify(r.content["application/json"].schema).includes("#/components/schemas/")));
    expect(bare.map((o) => `${o.method} ${o.path}`)).toEqual([]);
  });

  it("when the engine answers every operation, then each answer validates against its documented response schema", () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    // Component refs point into one schema of all components.
    ajv.addSchema({ $id: "components", $defs: doc.components.schemas });
    const compile = (schema: unknown) => ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll("#/components/schemas/", "components#/$defs/")));
    const failures: string[] = [];
    let validatedJson = 0;
    for (const { route, res } of stops) {
      const [method, path] = oa(route);
      const op = (doc.paths as Record<string, Record<string, Op>>)[path]?.[method];
      if (!op) {
        failures.push(`${route}: not in the document`);
        continue;
      }
      const documented = op.responses[String(res.status)];
      if (!documented) {
        failures.push(`${route}: status ${res.status} is not documented`);
        continue;
      }
      const media = Object.keys(documented.content ?? {});
      if (media.length === 0) continue; // 204, 302, 303
      const type = (res.headers.get("content-type") ?? "").split(";")[0];
      if (!media.includes(type)) failures.push(`${route}: content type ${type}, documented ${media.join(", ")}`);
      if (type !== "application/json" || path === "/openapi.json") continue;
      const validate = compile(documented.content!["application/json"].schema);
      validatedJson++;
      if (!validate(res.body)) {
        const why = (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}${e.params && "additionalProperty" in e.params ? ` '${String(e.params.additionalProperty)}'` : ""}`);
        failures.push(`${route}: ${[...new Set(why)].join(", ")}`);
      }
    }
    expect(failures).toEqual([]);
    expect(validatedJson).toBeGreaterThan(50);
  });

  it("when the tour ends, then it called every operation of the live route table but those it cannot reach", () => {
    const called = new Set(stops.map((s) => oa(s.route).join(" ")));
    const unreachable = new Set(["get /confirm/{token}", "post /confirm/{token}", "post /preferences/{token}"]);
    const missing = ops(doc).map((o) => `${o.method} ${o.path}`).filter((k) => !called.has(k) && !unreachable.has(k));
    expect(missing).toEqual([]);
  });

  it("when /docs and /openapi.json are read, then they group by tag and mention no repository path", async () => {
    const text = JSON.stringify(doc);
    expect(doc.tags.map((t) => t.name)).toContain("Messages");
    expect(text).not.toMatch(/src\/|\.ts\b|shared\/API|CONTEXT\.md|README/);
    const page = await (await fetch(`${h.baseUrl}/docs`)).text();
    const init = await (await fetch(`${h.baseUrl}/docs/init.js`)).text();
    expect(page + init).not.toMatch(/src\/|\.ts\b|shared\/API/);
    expect(doc.components.responses.Unavailable.content["application/problem+json"].example.type).toBe("https://rapport.dev/problems/unavailable");
  });
});
