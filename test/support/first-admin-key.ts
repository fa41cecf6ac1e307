// Child process for test/console-bootstrap.test.ts: one engine start's first-admin-key step.
const { ensureDevAdminKey } = await import("../../src/modules/api-keys/bootstrap-admin.ts");
const { closeDb } = await import("../../src/platform/prisma.ts");
const key = await ensureDevAdminKey();
process.stdout.write(JSON.stringify({ key }));
await closeDb();
