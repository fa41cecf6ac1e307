// Imported first by test/console.test.ts: a database of its own, since its dashboard counts every
// message sent today, and other files send messages meanwhile.
import { useIsolatedDatabase } from "./env.ts";

useIsolatedDatabase("console");
