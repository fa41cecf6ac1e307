// Benchmark: `npx tsx bench/html-scan.ts`
// The unsafe-URL check every rendered message goes through (src/templates/url-safety.ts), against
// the former one built on html-scan.ts's callbacks (url-safety.reference.ts): µs per call on a
// ~9 KB marketing email rendered by the real pipeline (layout, CSS inlined by juice: tables, a
// style attribute on most elements, a dozen links, a few images), in three repetitions.
// Options: BENCH_ITERATIONS (calls per repetition, default 20000).
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 20_000);

// Configuration is read when the platform modules load: set it first, import them afterwards.
Object.assign(process.env, { LOG_LEVEL: "error", NODE_ENV: "test" });
const { prepareVersion } = await import("../src/templates/prepare.ts");
const { rememberPrepared } = await import("../src/templates/compiled.ts");
const { renderMessage } = await import("../src/templates/render.ts");
const { findUnsafeUrl } = await import("../src/templates/url-safety.ts");
const { findUnsafeUrlReference } = await import("../src/templates/url-safety.reference.ts");

const card = (i: number) => `<td class="card" width="50%" valign="top">
  <img src="https://cdn.example.com/products/{{data.p${i}.sku}}.jpg" width="260" height="180" alt="{{data.p${i}.name}}" class="photo">
  <h3>{{data.p${i}.name}}</h3>
  <p>{{truncate data.p${i}.description 120}}</p>
  <p><span class="price">{{currency data.p${i}.price "EUR"}}</span> <span class="was">{{currency data.p${i}.was "EUR"}}</span></p>
  {{> button href=data.p${i}.url label="Shop now"}}
</td>`;
const html = `<style>
.hero { background-color: #111827; color: #ffffff; padding: 32px 24px; text-align: center; }
.hero h1 { color: #ffffff; font-size: 28px; }
.grid { border-collapse: collapse; width: 100%; }
.card { padding: 12px; border: 1px solid #e5e7eb; font-family: Helvetica, Arial, sans-serif; }
.card h3 { margin: 8px 0 4px; font-size: 16px; color: #111827; }
.photo { display: block; width: 100%; height: auto; border-radius: 6px; }
.price { font-weight: bold; color: #047857; font-size: 18px; }
.was { color: #9ca3af; text-decoration: line-through; font-size: 13px; }
.muted { color: #6b7280; font-size: 13px; line-height: 1.4; }
.social td { padding: 0 6px; }
</style>
<table class="hero" role="presentation" width="100%"><tr><td>
<img src="https://cdn.example.com/campaigns/winter-sale/banner.png" width="552" alt="Winter sale" class="photo">
<h1>{{capitalize customer.name}}, the winter sale is on</h1>
<p>Up to 40% off the pieces you looked at, until Sunday midnight.</p>
{{> button href=data.saleUrl label="See every offer"}}
</td></tr></table>
<table class="grid" role="presentation"><tr>${card(0)}${card(1)}</tr><tr>${card(2)}${card(3)}</tr></table>
<p>Every week one of our makers explains how a product is made. This week, Marta from the leather workshop shows how a wallet goes from a single hide to a finished piece in eleven steps. <a href="https://shop.example.com/stories/wallet?utm_source=rapport&amp;utm_medium=email">Read the story</a>.</p>
<table class="social" role="presentation" align="center"><tr>
<td><a href="https://instagram.com/example"><img src="https://cdn.example.com/icons/instagram.png" width="24" height="24" alt="Instagram"></a></td>
<td><a href="https://facebook.com/example">Facebook</a></td>
<td><a href="https://example.com/blog">Blog</a></td>
</tr></table>
<p class="muted">As a {{default customer.attributes.plan "free"}} member you have {{formatNumber customer.attributes.points}} points. Shipping is free above {{currency 50 "EUR"}}; returns are free within 30 days.</p>
{{> signature}}`;

const product = (i: number) => ({
  sku: `SKU-${1000 + i}`,
  name: `Leather piece ${i + 1}`,
  description: "A sturdy, well-made thing that does exactly what it says, comes with a two-year warranty and ships within two days.",
  price: 39.9 + i * 10,
  was: 59.9 + i * 10,
  url: `https://shop.example.com/p/${1000 + i}?utm_source=rapport&utm_medium=email&utm_campaign=winter`,
});
const template = { id: "bench-html-scan", key: "winter", version: 1, subject: "Winter sale", html, text: null, variants: [] };
rememberPrepared(template.id, prepareVersion(template));
const email = renderMessage({
  template,
  customer: { id: "c1", name: "Ada O'Brien", email: "ada@example.com", locale: "en-GB", timezone: "Europe/Paris", attributes: { plan: "pro", points: 1234 } },
  persona: null,
  data: { saleUrl: "https://shop.example.com/sale?utm_source=rapport", ...Object.fromEntries([0, 1, 2, 3].map((i) => [`p${i}`, product(i)])) },
  unsubscribeUrl: "https://rapport.example.com/u/token-1",
  preferencesUrl: "https://rapport.example.com/preferences/token-1",
  kind: "marketing",
}).html;
const count = (re: RegExp) => (email.match(re) ?? []).length;
console.log(
  `email: ${Buffer.byteLength(email)} B, ${count(/<[a-z]/gi)} start tags, ${count(/ style="/g)} style attributes, ` +
    `${count(/<a /g)} links, ${count(/<img /g)} images`,
);

// Most email has no value that could start a dangerous scheme; one with an inline PNG at the end
// (allowed) makes the new check delimit every tag, as the former one always did.
const docs = {
  "as rendered": email,
  "with an inline PNG at the end": email.replace("</body>", '<img src="data:image/png;base64,iVBORw0KGgo=" width="1" height="1"></body>'),
};
const unsafe = email.replace("</body>", '<a href="jav&#x09;ascript:alert(1)">x</a></body>');
for (const doc of [...Object.values(docs), unsafe]) {
  const [a, b] = [findUnsafeUrlReference(doc), findUnsafeUrl(doc)];
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`verdicts differ: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
}

function measure(check: (html: string) => unknown, html: string): number {
  let unsafeCalls = 0;
  const start = performance.now();
  for (let k = 0; k < ITERATIONS; k++) if (check(html) !== null) unsafeCalls++;
  const us = ((performance.now() - start) * 1000) / ITERATIONS;
  if (unsafeCalls) throw new Error("the email was found unsafe");
  return us;
}

for (const [label, html] of Object.entries(docs)) {
  for (const check of [findUnsafeUrlReference, findUnsafeUrl]) measure(check, html); // warm-up (JIT)
  const rounds: Array<[number, number]> = [];
  for (let r = 1; r <= 3; r++) rounds.push([measure(findUnsafeUrlReference, html), measure(findUnsafeUrl, html)]);
  const fmt = ([old, now]: [number, number]) => `${old.toFixed(1)} -> ${now.toFixed(1)} µs (${(old / now).toFixed(1)}x)`;
  const best: [number, number] = [Math.min(...rounds.map((x) => x[0])), Math.min(...rounds.map((x) => x[1]))];
  console.log(`${label}: former -> new per call, three repetitions of ${ITERATIONS.toLocaleString("en")}: ${rounds.map(fmt).join(", ")}; best ${fmt(best)}`);
}
