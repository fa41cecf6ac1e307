// Bulk customer import: received at the edge (streamed to storage, checked for shape and size on
// the way: upload.ts), then processed by a job: parsed once (materialise.ts), then page by page. Each page is one transaction that also advances the progress,
// so a retried job resumes exactly where the last committed page ended.
import { addressKey } from "../customers/email.ts";
import { notFound } from "../../platform/errors.ts";
import { logger } from "../../platform/logger.ts";
import { withTransaction } from "../../platform/sql.ts";
import { recordConsentChanges, type ConsentChange } from "../consent/consent.repository.ts";
import { refreshRulePersonas } from "../personas/persona-assignment.ts";
import { addressHash } from "../../platform/secrets.ts";
import { ImportPlanner, openRows, scrubInput, type PagePlan, type RawRow } from "./import-rows.ts";
import * as repo from "./imports.repository.ts";
import { materialise } from "./materialise.ts";

export const PAGE_SIZE = 1000;

export function importView(i: repo.ImportRecord) {
  return {
    id: i.id,
    status: i.status,
    format: i.format,
    total: i.total,
    processed: i.processed,
    created: i.created,
    updated: i.updated,
    failed: i.failed,
    errors: i.errors,
    createdAt: i.createdAt.toISOString(),
    finishedAt: i.finishedAt?.toISOString() ?? null,
  };
}

export async function getImport(id: string) {
  const i = await repo.findImport(id);
  if (!i) throw notFound("Import", id);
  return importView(i);
}

/** Transient failures (deadlock, a concurrent writer taking an externalId) retry the page. */
const RETRYABLE = new Set(["40P01", "40001", "23505"]);

/** The rows a run works from, and the digest of the stored input they were read from. */
interface Loaded {
  rows: RawRow[];
  digest: string;
}

/** written; taken: another run wrote it, or the import is closed; inputChanged: a scrub rewrote the input. */
type PageOutcome = "written" | "taken" | "inputChanged";

async function writePage(importId: string, first: number, digest: string, plan: PagePlan, actor: string): Promise<PageOutcome> {
  return withTransaction(async (client) => {
    // The persona lock first, before any customer row is locked (see refreshRulePersonas).
    await refreshRulePersonas([], client);
    // Locks the import: a stalled job re-run alongside the original cannot write a page twice, and
    // a scrub (erasure) either finished before this page (the digest shows it) or waits for it.
    const progress = await repo.lockProgress(client, importId);
    if (progress?.processed !== first) return "taken";
    if (progress.digest !== digest) return "inputChanged";
    const upserted = await repo.upsertCustomers(client, plan.rows.map((r) => r.upsert));
    const byHash = new Map(upserted.map((u) => [u.emailHash, u]));
    const wanted = plan.rows.flatMap((r) => r.consents.map((c) => ({ c, who: byHash.get(r.upsert.emailHash)! })));
    const current = await repo.currentConsents(client, wanted.map(({ c, who }) => [who.id, c.topicId]));
    const changes: ConsentChange[] = wanted
      // Re-importing the same state writes no new ledger row (same rule as PUT .../consents).
      .filter(({ c, who }) => current.get(`${who.id}|${c.topicId}`) !== c.status)
      .map(({ c, who }) => ({
        customerId: who.id, topicId: c.topicId, channel: "email", status: c.status,
        // Double opt-in topics included: the proof says it was confirmed where it was collected.
        action: "imported", source: c.source, proof: c.proof, wording: null, actor, dataKey: who.dataKey,
      }));
    await recordConsentChanges(client, changes);
    // In the page's transaction: a refresh run after the commit would be lost if it failed or the
    // process died, since a resumed job skips committed pages.
    await refreshRulePersonas(upserted.map((u) => u.id), client);
    const created = upserted.filter((u) => u.inserted).length;
    await repo.addProgress(client, importId, {
      processed: plan.rows.length + plan.failed, created, updated: upserted.length - created,
      failed: plan.failed, errors: plan.errors,
    });
    return "written";
  });
}

/**
 * Writes one page; false when another run got there first or the import is no longer running.
 * When a scrub changed the input, `loaded` is replaced in place, so the later pages use it too.
 */
async function writePageWithRetry(
  importId: string, first: number, loaded: Loaded, reload: () => Promise<Loaded | null>, planner: ImportPlanner, actor: string,
): Promise<boolean> {
  for (let attempt = 1; ; ) {
    const p = await planner.plan(first, loaded.rows.slice(first, first + PAGE_SIZE));
    try {
      const out = await writePage(importId, first, loaded.digest, p, actor);
      if (out === "written") p.commit();
      if (out !== "inputChanged") return out === "written";
    } catch (err) {
      if (attempt++ >= 3 || !RETRYABLE.has((err as { code?: string }).code ?? "")) throw err;
      continue;
    }
    // A scrub rewrote the input since it was read: plan the page again from the stored rows. Not an
    // attempt: each scrub changes the input once.
    const next = await reload();
    if (!next) return false;
    Object.assign(loaded, next);
  }
}

/** A run of an import with no progress for this long has no live job left (see failStaleImports). */
export const STALE_IMPORT_MS = 60 * 60 * 1000;
let servingSince: number | null = null;

/**
 * Closes imports that are queued or running but have not moved for olderThanMs: their job failed
 * without the processor's last-attempt handler running (BullMQ fails a job that stalls too often
 * without calling it), or the process died first. Their input is cleared (it is PII). One UPDATE.
 */
export async function failStaleImports(olderThanMs: number, exceptId?: string): Promise<string[]> {
  const ids = await repo.failStale(olderThanMs, {
    row: 0, message: "The import stopped making progress and was closed; rows reported as processed were written",
  }, exceptId);
  if (ids.length) logger.warn({ importIds: ids, olderThanMs }, "stale imports closed as failed");
  return ids;
}

/**
 * Called at the start of every import job. Only once this process has been taking import jobs for
 * the threshold: after an outage of every worker, imports still waiting for their (live) jobs look
 * stale too, and the first job to run would otherwise close them all.
 */
async function failStaleImportsOpportunistically(importId: string): Promise<void> {
  servingSince ??= Date.now();
  if (Date.now() - servingSince < STALE_IMPORT_MS) return;
  // Housekeeping: never a reason for this import to fail.
  await failStaleImports(STALE_IMPORT_MS, importId).catch((err) => logger.warn({ err: (err as Error).message }, "closing stale imports failed"));
}

/** Imports of at least this many rows refresh the planner's statistics of the tables they wrote. */
const ANALYZE_AFTER_ROWS = 5000;

export async function processImport(importId: string): Promise<void> {
  await failStaleImportsOpportunistically(importId);
  const job = await repo.claimImport(importId);
  if (!job) return; // finished already (a duplicate delivery) or deleted
  if (job.input === null) {
    // Still the raw upload: parse it once; a refused input fails the import with its reasons.
    const refused = await materialise(importId);
    if (refused) return void (await repo.finishImport(importId, "failed", refused));
    const parsed = await repo.readInput(importId);
    if (!parsed) return;
    Object.assign(job, parsed);
  }
  const open = (input: string, digest: string): Loaded => ({ rows: openRows(job.format, input), digest });
  let loaded: Loaded;
  try {
    loaded = open(job.input!, job.digest);
  } catch (err) {
    // Checked at the edge, so only a damaged stored input gets here; retrying cannot help.
    await failImport(importId, `The input could not be read: ${(err as Error).message}`);
    return;
  }
  const reload = async () => {
    const r = await repo.readInput(importId);
    return r && open(r.input, r.digest);
  };
  const planner = new ImportPlanner();
  for (let first = 0; first < loaded.rows.length; first += PAGE_SIZE) {
    if (first < job.processed) {
      // Resuming: pages already committed only rebuild the duplicate bookkeeping.
      (await planner.plan(first, loaded.rows.slice(first, first + PAGE_SIZE))).commit();
      continue;
    }
    if (!(await writePageWithRetry(importId, first, loaded, reload, planner, job.actor))) {
      logger.warn({ importId, first }, "import page already written by another run, or the import was closed; stopping this one");
      return;
    }
  }
  await repo.finishImport(importId, "completed");
  logger.info({ importId, rows: loaded.rows.length }, "import completed");
  // Fresh statistics at once: a campaign launched right after a large import would otherwise be
  // planned on the old ones until autovacuum gets round to it (eligibility went from ~2 to ~80 ms
  // per batch of 400 in the campaign benchmark).
  if (loaded.rows.length >= ANALYZE_AFTER_ROWS) await repo.refreshStatistics().catch((err: Error) => logger.warn({ err: err.message }, "could not refresh statistics after an import"));
}

/**
 * Erasure: removes every row naming this address (compared by addressKey) from the stored input of
 * queued and running imports, which would otherwise create the customer again. One UPDATE per
 * import that names it. A running job notices at its next page (the input's digest changed) and
 * reports those rows as not imported. Call it before erasing the customer: a page committed between
 * the erasure and this call would bring the customer back.
 */
export async function scrubPendingImports(email: string): Promise<void> {
  const key = addressKey(email);
  await withTransaction(async (client) => {
    for (const i of await repo.lockPendingInputsNaming(client, key)) {
      // Still raw (uploading or not parsed yet): the job leaves the address's rows out when it parses.
      if (i.input === null) await repo.addErased(client, i.id, addressHash(key));
      else {
        const scrubbed = scrubInput(i.format, i.input, (e) => addressKey(e) === key);
        if (scrubbed !== null) await repo.replaceInput(client, i.id, scrubbed);
      }
    }
  });
}

export async function failImport(importId: string, message: string): Promise<void> {
  await repo.finishImport(importId, "failed", [{ row: 0, message }]);
}
