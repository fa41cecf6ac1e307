// Load generator for the HTTP-limit tests, run as a child process so that producing and sending
// the bodies does not share the event loop of the server under test.
// argv: JSON LoadSpec (test/support/load.ts); sends {statuses, ms, bytes} to the parent when every
// request has ended.
const spec = JSON.parse(process.argv[2]);

// Import bodies: spec.rows rows (default 9,000, under the 10,000 limit) padded to spec.bytes.
function body(i) {
  const rows = spec.rows ?? 9000;
  const pad = "x".repeat(Math.max(1, Math.floor(spec.bytes / rows) - 70));
  const email = (n) => `load-${spec.tag}-${i}-${n}@example.com`;
  if (spec.kind === "csv") {
    const lines = ["email,name,attributes.note"];
    for (let n = 0; n < rows; n++) lines.push(`${email(n)},Name ${n},${pad}`);
    return lines.join("\n");
  }
  if (spec.kind === "json-import") {
    // Many short attributes, as exports from a CRM look (and as they cost a JSON parser).
    const attributes = Object.fromEntries(Array.from({ length: Math.max(1, Math.floor(pad.length / 22)) }, (_, k) => [`attr${k}`, `value-${k}-xx`]));
    const out = [];
    for (let n = 0; n < rows; n++) out.push(JSON.stringify({ email: email(n), name: `Name ${n}`, attributes }));
    return `{"customers":[${out.join(",")}]}`;
  }
  return `[${"{},".repeat(Math.ceil(spec.bytes / 3))}{}]`;
}

const bodies = Array.from({ length: spec.count }, (_, i) => Buffer.from(body(i)));
const headersOf = (i) => ({ "content-type": spec.contentType, ...(spec.keys ? { authorization: `Bearer ${spec.keys[i % spec.keys.length]}` } : {}) });
process.send?.({ ready: true });
await new Promise((r) => (process.send ? process.once("message", r) : r()));
const started = performance.now();
const statuses = await Promise.all(
  bodies.map((b, i) =>
    fetch(spec.url, { method: "POST", headers: headersOf(i), body: b })
      .then(async (r) => ({ status: r.status, body: await r.text() }))
      .catch((e) => ({ status: "error", body: String(e.cause?.code ?? e.message) })),
  ),
);
process.send?.({ statuses, ms: performance.now() - started, bytes: bodies.map((b) => b.length) });
