// Batches built in a build thread (src/modules/delivery/build-threads.ts) are what the event loop
// would build: the same MIME bytes, variant, tracked links and render failures. No database needed:
// the build starts from plain data, as prepare.ts hands it over.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { config } from "../src/platform/config.ts";
import { initSecrets } from "../src/platform/secrets.ts";
import { prepareTemplates } from "../src/templates/compiled.ts";
import { closeTemplatePool } from "../src/templates/pool.ts";
import type { RenderTemplateVersion } from "../src/templates/render.types.ts";
import { buildMessage, type BuildInput } from "../src/modules/delivery/build.ts";
import { buildMessages, buildThreadCount, closeBuildThreads, warmBuildThreads } from "../src/modules/delivery/build-threads.ts";

const version = (over: Partial<RenderTemplateVersion> = {}): RenderTemplateVersion => ({
  id: randomUUID(), key: `t-${randomUUID().slice(0, 8)}`, version: 1,
  subject: "News for {{customer.name}}",
  html: '<h1>Hello {{customer.name}}</h1><p><a href="https://example.com/spring?x=1&amp;y=2">Spring</a> <a href="https://example.com/b">B</a></p>',
  text: null,
  variants: [{ persona: "saver", subject: "Savings for {{customer.name}}", html: '<p>Save, {{customer.name}}: <a href="https://example.com/save">here</a></p>' }],
  ...over,
});

const saver = { key: "saver", name: "Saver", description: null, story: null, goals: [], concerns: [], interests: [] };
const topic = { id: randomUUID(), key: "news", name: "News", kind: "marketing" as const };

function input(t: RenderTemplateVersion, i: number, persona: typeof saver | null): BuildInput {
  const id = randomUUID();
  return {
    id, customerId: randomUUID(), templateVersionId: t.id, topic,
    customer: { id: randomUUID(), name: `Ada ${i} Ünal`, email: `ada${i}@example.com`, emailHash: `h${i}`, locale: null, timezone: null, attributes: {} },
    persona, data: {}, tracking: { messageId: id, opens: true, clicks: true, honeypot: true },
  };
}

const withoutDate = (raw: Buffer) => raw.toString("latin1").replace(/^Date: .*\r\n/m, "");

beforeAll(() => initSecrets(config.RAPPORT_SECRET!));
afterAll(async () => {
  await closeBuildThreads();
  await closeTemplatePool();
});

describe("delivery, build threads", () => {
  it("when a batch is built in a build thread, then each message is byte for byte what the event loop builds, with its variant, links and render failures", async () => {
    const good = version();
    // Marketing without the footer (no unsubscribe link, no postal address): refused at render.
    const bad = version({ html: '{{#*inline "footer"}}{{/inline}}<p>Hi</p>' });
    const versions = new Map([good, bad].map((t) => [t.id, t]));
    expect((await prepareTemplates(versions.values())).size).toBe(0);
    const inputs = [input(good, 1, null), input(good, 2, saver), input(bad, 3, null), input(good, 4, null)];

    await warmBuildThreads();
    expect(config.DELIVERY_BUILD_THREADS).toBeGreaterThan(0);
    expect(buildThreadCount()).toBe(1);
    const threaded = await buildMessages(inputs, versions);
    const inline = inputs.map((b) => buildMessage(b, versions.get(b.templateVersionId)!));

    expect(threaded.map((b) => b.ok)).toEqual([true, true, false, true]);
    expect(inline.map((b) => b.ok)).toEqual([true, true, false, true]);
    for (let i = 0; i < inputs.length; i++) {
      const [t, l] = [threaded[i], inline[i]];
      if (!t.ok || !l.ok) {
        expect(t).toEqual(l);
        continue;
      }
      expect(Buffer.isBuffer(t.raw)).toBe(true);
      expect(withoutDate(t.raw)).toBe(withoutDate(l.raw));
      expect(t.variant).toBe(l.variant);
      expect(t.links).toEqual(l.links);
    }
    const [first, second, failed] = threaded;
    expect(first.ok && first.variant).toBe(null);
    expect(first.ok && first.links).toEqual(["https://example.com/spring?x=1&y=2", "https://example.com/b"]);
    expect(second.ok && second.variant).toBe("saver");
    expect(second.ok && second.links).toEqual(["https://example.com/save"]);
    expect(!failed.ok && failed.error).toMatch(/^render: .*unsubscribe/i);
    // The thread loaded each version once: a second batch of the same versions needs none sent again.
    const again = await buildMessages([input(good, 5, saver)], versions);
    expect(again[0].ok && again[0].variant).toBe("saver");
  });

  it("when the build threads stop while a batch is in flight, then that batch fails (its claims go back to the queue) and the next batch starts a new thread", async () => {
    const t = version();
    const versions = new Map([[t.id, t]]);
    expect((await prepareTemplates(versions.values())).size).toBe(0);
    const inputs = Array.from({ length: 200 }, (_, i) => input(t, i, null));
    await warmBuildThreads();
    expect(buildThreadCount()).toBe(1);

    const inFlight = expect(buildMessages(inputs, versions)).rejects.toThrow(/build threads stopped/);
    await closeBuildThreads();
    await inFlight;
    expect(buildThreadCount()).toBe(0);

    const next = await buildMessages(inputs.slice(0, 3), versions);
    expect(buildThreadCount()).toBe(1);
    expect(next.map((b) => b.ok)).toEqual([true, true, true]);
  });
});
