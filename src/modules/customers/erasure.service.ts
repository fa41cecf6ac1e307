// Erasure (GDPR art. 17): personal data is removed, the address stays suppressed through its keyed
// hash, and the consent ledger is kept but pseudonymised: its PII columns were encrypted with the
// customer's data key, which is destroyed here (crypto-shredding), so no ledger row is rewritten.
import { notFound } from "../../platform/errors.ts";
import type { Queryable } from "../../platform/sql.ts";
import { stopHandoffs } from "../../platform/handoff-gate.ts";
import { db } from "../../platform/prisma.ts";
import { forgetCustomerLinks } from "../engagement/links.ts";
import { scrubPendingImports } from "../imports/imports.service.ts";
import { suppressQueued } from "../delivery/delivery.repository.ts";

export async function eraseCustomer(id: string): Promise<void> {
  // Imports that have not reached this customer yet would create them again: scrub before (a page
  // committing meanwhile is then erased below) and after (in case one was queued in between).
  const before = await db.customer.findFirst({ where: { id, erasedAt: null }, select: { email: true } });
  if (!before) throw notFound("Customer", id);
  // Fence every hand-off to them first (and wait for those already with SMTP): once erased, nothing
  // more reaches them. Redis away: 503 and nothing erased.
  await stopHandoffs({ customerId: id });
  if (before.email) await scrubPendingImports(before.email);
  const email = await db.$transaction(async (tx) => {
    // Row lock: a concurrent PATCH or erasure waits, then finds the customer erased.
    const [c] = await tx.$queryRaw<Array<{ email: string | null; email_hash: string | null }>>`
      SELECT email, email_hash FROM customers WHERE id = ${id}::uuid AND erased_at IS NULL FOR UPDATE`;
    if (!c) throw notFound("Customer", id);
    if (c.email_hash) {
      await tx.suppression.upsert({
        where: { addressHash: c.email_hash },
        create: { addressHash: c.email_hash, reason: "erased" },
        update: {},
      });
    }
    await tx.customer.update({
      where: { id },
      data: {
        email: null, emailHash: null, externalId: null, name: null, locale: null, timezone: null,
        attributes: {}, personaId: null, rulePersonaId: null, dataKey: null, erasedAt: new Date(),
      },
    });
    // Per-send data, rendered links, client idempotency keys and SMTP diagnostics may quote the
    // person; messages still waiting are suppressed (the worker would find the customer erased too).
    await tx.message.updateMany({ where: { customerId: id }, data: { data: {}, links: [], lastError: null, idempotencyKey: null, requestHash: null } });
    await suppressQueued({ query: (text: string, values: unknown[]) => tx.$queryRawUnsafe(text, ...values).then((rows) => ({ rows })) } as unknown as Queryable,
      { customerId: id }, "erased", 1_000_000);
    await tx.messageEvent.updateMany({ where: { customerId: id }, data: { detail: null, url: null } });
    // Replies (their text, already unreadable without the data key), diagnostics and the address hash
    // of inbound reports about them (the suppression list keeps the hash).
    await tx.$executeRaw`UPDATE inbound_events SET body_enc = NULL, detail = NULL, address_hash = NULL
                          WHERE customer_id = ${id}::uuid OR (${c.email_hash}::text IS NOT NULL AND address_hash = ${c.email_hash})`;
    // Opens and clicks keep their verdicts for the counts; IP and user agent go (already unreadable
    // without the data key).
    await tx.engagementEvent.updateMany({ where: { customerId: id }, data: { ipEnc: null, userAgentEnc: null } });
    // What they told us (already unreadable without the data key): the reason label stays for counts.
    await tx.feedback.updateMany({ where: { customerId: id }, data: { commentEnc: null } });
    if (c.email) {
      // Development outbox copies of their mail.
      await tx.$executeRaw`DELETE FROM dev_outbox WHERE strpos(lower(raw), ${c.email.toLowerCase()}) > 0 OR ${c.email.toLowerCase()} = ANY (SELECT lower(x) FROM unnest(envelope_to) x)`;
    }
    return c.email;
  });
  if (email) await scrubPendingImports(email);
  await forgetCustomerLinks(id);
}
