import { afterAll, beforeAll } from "vitest";

/**
 * A stand-in for a value made in `beforeAll` and disposed of in `afterAll`: the returned object
 * forwards to it, so a test file writes `const h = useHarness()` instead of the hooks.
 */
export function lateBound<T extends object>(make: () => Promise<T>, dispose: (v: T) => Promise<void>, what: string, timeoutMs?: number): T {
  let inner: T | null = null;
  beforeAll(async () => {
    inner = await make();
  }, timeoutMs);
  afterAll(async () => {
    if (inner) await dispose(inner);
  });
  return new Proxy({} as T, {
    get(_t, prop) {
      if (!inner) throw new Error(`${what} is not started yet: use it inside tests and hooks`);
      const v = (inner as Record<string | symbol, unknown>)[prop];
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(inner) : v;
    },
  });
}
