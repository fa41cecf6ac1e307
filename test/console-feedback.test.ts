// The console's feedback inbox, in Chromium: what a customer wrote on the unsubscribe page reaches
// marketers (decrypted, through the same use case as GET /v1/feedback), filtered by where it was
// left; roles come from the API's route table, so a developer key is refused.
import { describe, expect, it } from "vitest";
import { unsubscribeUrl } from "../src/modules/public-links/public-links.service.ts";
import { consoleSuite, seriousViolations } from "./support/console.ts";
import { createCustomer, createTopic, setConsent } from "./support/fixtures.ts";
import { hiddenFields, postForm } from "./support/forms.ts";
import { db, rid } from "./support/harness.ts";

const s = consoleSuite();

describe("console: feedback inbox", () => {
  it("when a customer says why on the unsubscribe page, then a marketer reads it in the inbox, a filter keeps it or not, and a developer may not open the page", async () => {
    const topic = await createTopic(s.h, "marketing", "Inbox news");
    const c = await createCustomer(s.h, { name: "Ivy" });
    await setConsent(s.h, c.id, topic.key, "opted_in");
    const topicId = (await db.topic.findUniqueOrThrow({ where: { key: topic.key } })).id;
    const url = unsubscribeUrl(c.id, topicId);
    const comment = `Hats only, please ${rid("")}`;
    expect((await postForm(url, { ...(await hiddenFields(url)), reason: "not_relevant", comment })).status).toBe(200);

    const page = await s.signedIn(await s.h.keyFor("marketer"));
    await page.click('nav a[href="/console/feedback"]');
    await page.waitForURL(/\/console\/feedback$/);
    const row = page.locator("#feedback tbody tr", { hasText: comment });
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain("not_relevant");
    expect(await row.locator(`a[href="/console/customers/${c.id}"]`).count()).toBe(1);
    expect(await seriousViolations(page)).toEqual([]);

    await page.selectOption("#source", "preference-center");
    await Promise.all([page.waitForURL(/source=preference-center/), page.click('form[action="/console/feedback"] button')]);
    expect(await page.locator("#feedback tbody tr", { hasText: comment }).count()).toBe(0);
    await page.selectOption("#source", "unsubscribe-page");
    await Promise.all([page.waitForURL(/source=unsubscribe-page/), page.click('form[action="/console/feedback"] button')]);
    expect(await page.locator("#feedback tbody tr", { hasText: comment }).count()).toBe(1);
    await page.selectOption("#source", "");
    await Promise.all([page.waitForURL(/source=$/), page.click('form[action="/console/feedback"] button')]);
    expect(await page.locator("#feedback tbody tr", { hasText: comment }).count()).toBe(1);

    const dev = await s.signedIn(await s.h.keyFor("developer"));
    expect(await dev.locator('nav a[href="/console/feedback"]').count()).toBe(0);
    const refused = await dev.goto(`${s.h.baseUrl}/console/feedback`);
    expect(refused?.status()).toBe(403);
  });
});
