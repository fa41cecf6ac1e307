// Load generator for the HTTP-limit tests, run as a child process so that producing and sending
// the bodies does not share the event loop of the server under test.
// argv: JSON {url, count, bytes, contentType, headers, kind: "json-array"|"csv"}; prints JSON
// {statuses: [...], ms} on stdout when every request has ended.
const spec = JSON.parse(process.argv[2]);

function body(i) {
  if (spec.kind === "csv") {
    const lines = ["email,name,attributes.plan"];
    let size = lines[0].length;
    for (let n = 0; size < spec.bytes; n++) {
      const line = `load-${spec.tag}-${i}-${n}@example.com,Name ${n} ${"x".repeat(60)},basic`;
      lines.push(line);
      size += line.length + 1;
    }
    return lines.join("\n");
  }
  if (spec.kind === "json-import") {
    const rows = [];
    let size = 20;
    for (let n = 0; size < spec.bytes; n++) {
      const row = JSON.stringify({ email: `load-${spec.tag}-${i}-${n}@example.com`, name: `Name ${n} ${"x".repeat(60)}`, attributes: { plan: "basic" } });
      rows.push(row);
      size += row.length + 1;
    }
    return `{"customers":[${rows.join(",")}]}`;
  }
  return `[${"{},".repeat(Math.ceil(spec.bytes / 3))}{}]`;
}

const bodies = Array.from({ length: spec.count }, (_, i) => Buffer.from(body(i)));
process.send?.({ ready: true });
await new Promise((r) => (process.send ? process.once("message", r) : r()));
const started = performance.now();
const statuses = await Promise.all(
  bodies.map((b) =>
    fetch(spec.url, { method: "POST", headers: { "content-type": spec.contentType, ...spec.headers }, body: b })
      .then(async (r) => ({ status: r.status, body: await r.text() }))
      .catch((e) => ({ status: "error", body: String(e.cause?.code ?? e.message) })),
  ),
);
process.send?.({ statuses, ms: performance.now() - started });
