// Worker-thread entry of the build threads (build-threads.ts) when running from the TypeScript
// sources: tsx registered first, as for the template preparation threads.
import { register } from "tsx/esm/api";

register();
await import("./build.worker.ts");
