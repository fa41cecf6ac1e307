// Hostile input to every operation of /openapi.json: each path parameter, query and JSON body leaf
// replaced by bad values (wrong types, huge and deep values, NUL, lone surrogates, prototype keys),
// raw bodies with duplicate keys or broken JSON, and wrong content types. Valid requests (recorded by
// the API tour) are the starting point, so a bad value reaches as deep as the code lets it. Claims:
// no 5xx, every error is application/problem+json, and the engine still answers /readyz with 200.
import "./support/webhook-env.ts";
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, useHarness } from "./support/harness.ts";
import { apiTour, type TourStop } from "./support/tour.ts";

const h = useHarness();

const deep = (n: number): unknown => (n === 0 ? "x" : { a: deep(n - 1) });
const BAD_VALUES: Array<[string, unknown]> = [
  ["number", 12345.678],
  ["negative", -1],
  ["boolean", true],
  ["null", null],
  ["array", ["x", 1, null]],
  ["object", { nested: { value: 1 } }],
  ["empty", ""],
  ["nul", "a\u0000b"],
  ["lone surrogate", "a\ud800b"],
  ["low surrogate", "\udc00"],
  ["long", "x".repeat(70_000)],
  ["deep", deep(40)],
  ["proto", JSON.parse('{"__proto__": {"polluted": "yes"}}')],
  ["big number", 1e308],
  ["sql", "' OR 1=1; --"],
  ["template", "{{#each this}}{{/each}}{{lookup . 'constructor'}}"],
];
const BAD_SEGMENTS = ["x", "0", "-1", "00000000-0000-7000-8000-000000000000", "%00", "%ED%A0%80", "%FF", "..%2F..%2Fetc", "a".repeat(3000), "__proto__", "constructor", "%25", "null"];
const BAD_QUERIES = ["limit=-1", "limit=abc", "limit=999999999999", "limit=1&limit=2", "cursor=%00", "cursor=%ED%A0%80", "cursor=" + "z".repeat(5000), "__proto__[x]=1", "constructor=1", "status=nope", "x=1", "limit[]=1", "%FF=1"];
const RAW_BODIES: Array<[string, string | Buffer, string]> = [
  ["duplicate keys", '{"name":"a","name":"b","name":{"x":1}}', "application/json"],
  ["duplicate proto", '{"__proto__":{"admin":true},"__proto__":{"role":"admin"}}', "application/json"],
  ["constructor prototype", '{"constructor":{"prototype":{"polluted":"yes"}}}', "application/json"],
  ["broken", '{"name": "a",', "application/json"],
  ["not an object", '"just a string"', "application/json"],
  ["number", "42", "application/json"],
  ["deep arrays", "[".repeat(100_000) + "]".repeat(100_000), "application/json"],
  ["deep objects", '{"a":'.repeat(5_000) + "1" + "}".repeat(5_000), "application/json"],
  ["escaped nul", '{"name":"\\u0000"}', "application/json"],
  ["escaped surrogate", '{"name":"\\ud800"}', "application/json"],
  ["invalid utf-8", Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe, 0xed, 0xa0, 0x80]), Buffer.from('"}')]), "application/json"],
  ["huge", `{"name":"${"x".repeat(5 * 1024 * 1024)}"}`, "application/json"],
  ["text", "name=a", "text/plain"],
  ["xml", "<a>1</a>", "application/xml"],
  ["form", "name=a&__proto__[x]=1", "application/x-www-form-urlencoded"],
  ["multipart", "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--b--\r\n", "multipart/form-data; boundary=b"],
  ["utf-16", '{"name":"a"}', "application/json; charset=utf-16"],
  ["csv", "email\n\u0000@x\n", "text/csv"],
];

/** Every leaf of a JSON value, as a path. */
function leaves(v: unknown, at: Array<string | number> = []): Array<Array<string | number>> {
  if (Array.isArray(v)) return v.length ? v.flatMap((x, i) => leaves(x, [...at, i])) : [at];
  if (v && typeof v === "object") {
    const keys = Object.keys(v);
    return keys.length ? keys.flatMap((k) => leaves((v as Record<string, unknown>)[k], [...at, k])) : [at];
  }
  return [at];
}
function replaced(v: unknown, path: Array<string | number>, value: unknown): unknown {
  if (path.length === 0) return value;
  const copy: any = Array.isArray(v) ? [...v] : { ...(v as object) };
  copy[path[0]] = replaced(copy[path[0]], path.slice(1), value);
  return copy;
}

interface Sent {
  what: string;
  status: number;
  type: string;
}

describe("fuzz: hostile input to every operation", () => {
  let stops: TourStop[];
  const sent: Sent[] = [];
  const send = async (what: string, method: string, path: string, init: { body?: string | Buffer; type?: string } = {}) => {
    const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_KEY}` };
    if (init.type) headers["content-type"] = init.type;
    const label = `${what}: ${method} ${path.slice(0, 120)}`;
    try {
      const res = await fetch(h.baseUrl + path, { method, headers, body: init.body as BodyInit | undefined, redirect: "manual" });
      await res.arrayBuffer();
      sent.push({ what: label, status: res.status, type: res.headers.get("content-type") ?? "" });
    } catch (err) {
      sent.push({ what: label, status: 0, type: String((err as Error & { cause?: Error }).cause?.message ?? err) });
    }
  };

  beforeAll(async () => {
    stops = await apiTour(h, { keep: true });
  }, 120_000);

  it("when every operation gets bad paths, queries, bodies and content types, then none answers 5xx and every error is problem+json", async () => {
    const doc = (await h.api("GET", "/openapi.json")).body;
    const documented = new Set(Object.entries<any>(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)));
    const byRoute = new Map(stops.map((s) => [s.route, s]));
    // Operations of the document the tour has no valid request for still get every bad input.
    const targets = [...documented].map((op) => {
      const [method, oaPath] = op.split(" ");
      const route = `${method} ${oaPath.replace(/\{(\w+)\}/g, ":$1")}`;
      const stop = byRoute.get(route);
      return { method, template: oaPath, path: stop?.path.split("?")[0] ?? oaPath.replace(/\{\w+\}/g, "x"), body: stop?.body };
    });
    expect(targets.length).toBeGreaterThan(60);
    const started = Date.now();

    for (const t of targets) {
      // Path parameters: each segment that is a parameter, replaced by bad values.
      const templateSegs = t.template.split("/");
      const segs = t.path.split("/");
      for (let i = 0; i < templateSegs.length; i++) {
        if (!templateSegs[i].startsWith("{")) continue;
        for (const bad of BAD_SEGMENTS) {
          const p = [...segs];
          p[i] = bad;
          await send("path", t.method, p.join("/"), t.body !== undefined ? { body: JSON.stringify(t.body), type: "application/json" } : {});
        }
      }
      for (const q of BAD_QUERIES) await send("query", t.method, `${t.path}?${q}`);
      if (t.method === "GET" || t.method === "DELETE") continue;
      // Bodies: the valid body with one leaf replaced, or the whole body replaced.
      const base = t.body ?? {};
      for (const leaf of leaves(base)) {
        for (const [name, value] of BAD_VALUES) await send(`leaf ${leaf.join(".")}=${name}`, t.method, t.path, { body: JSON.stringify(replaced(base, leaf, value)), type: "application/json" });
      }
      for (const [name, value] of BAD_VALUES) await send(`body=${name}`, t.method, t.path, { body: JSON.stringify(value), type: "application/json" });
      for (const [name, raw, type] of RAW_BODIES) await send(`raw ${name}`, t.method, t.path, { body: raw, type });
      await send("no content type", t.method, t.path, { body: JSON.stringify(base) });
    }

    const fiveXX = sent.filter((s) => s.status >= 500 || s.status === 0);
    const notProblem = sent.filter((s) => s.status >= 400 && !s.type.startsWith("application/problem+json"));
    console.log(`[fuzz] ${sent.length} requests to ${targets.length} operations in ${((Date.now() - started) / 1000).toFixed(1)} s: ${fiveXX.length} 5xx, ${sent.filter((s) => s.status >= 400 && s.status < 500).length} 4xx, ${notProblem.length} errors not problem+json`);
    expect(sent.length).toBeGreaterThan(3000);
    expect(fiveXX.map((s) => `${s.status} ${s.what}`)).toEqual([]);
    expect(notProblem.map((s) => `${s.status} ${s.type} ${s.what}`)).toEqual([]);
    // Nothing reached Object.prototype.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  }, 300_000);

  it("when the fuzzing is over, then the engine is alive and ready", async () => {
    expect((await h.api("GET", "/healthz")).status).toBe(200);
    const ready = await h.api("GET", "/readyz");
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ database: "ok", redis: "ok" });
  });
});
