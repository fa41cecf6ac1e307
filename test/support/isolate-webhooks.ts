// Imported first by test/webhooks.test.ts: a database of its own, since every other file's events
// (consent changes, sends, completed campaigns) would create deliveries for its endpoints.
import { useIsolatedDatabase } from "./env.ts";

useIsolatedDatabase("webhooks");
