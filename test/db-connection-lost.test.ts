// A connection the server ends while a transaction holds it (PostgreSQL restarted, or an operator's
// pg_terminate_backend) must fail that transaction, not the process: an 'error' event with no
// listener on a checked-out pg client is thrown, and a worker that dies that way loses the outcomes
// it held for messages SMTP already accepted (the fault suite saw them sent twice after a restart).
import { afterAll, describe, expect, it } from "vitest";
import { sleep, waitUntil } from "./support/wait.ts";

const { pool, closeDb } = await import("../src/platform/prisma.ts");
const { withTransaction } = await import("../src/platform/sql.ts");

const uncaught: Error[] = [];
const record = (err: Error) => uncaught.push(err);
process.on("uncaughtException", record);

afterAll(async () => {
  process.off("uncaughtException", record);
  await closeDb();
});

describe("a pooled connection ended by the server", () => {
  it("when the server ends the connection a transaction holds between two queries, then that transaction fails, nothing is thrown at the process, and the next transaction runs on a fresh connection", async () => {
    let pid = 0;
    const outcome = await withTransaction(async (c) => {
      pid = (await c.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0].pid;
      // Ended from another connection while this one is idle in the transaction (no query running).
      const ended = await pool.query<{ ok: boolean }>("SELECT pg_terminate_backend($1) AS ok", [pid]);
      // Precondition: the server did end it, and the client noticed before the next query.
      expect(ended.rows[0].ok).toBe(true);
      await waitUntil(() => !(c as unknown as { _queryable: boolean })._queryable, "the client to see its connection end", 5000, 10);
      await c.query("SELECT 1");
    }).then(() => "committed", (err: Error) => err.message);

    await sleep(50); // an unhandled 'error' event is thrown from the socket's handler, on a later turn
    expect(outcome).not.toBe("committed");
    expect(uncaught.map((e) => e.message)).toEqual([]);
    const next = await withTransaction((c) => c.query<{ pid: number }>("SELECT pg_backend_pid() AS pid"));
    expect(next.rows[0].pid).not.toBe(pid);
  });
});
