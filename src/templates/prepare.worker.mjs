// Worker-thread entry of the template preparation pool (pool.ts). The sources are TypeScript,
// loaded through tsx as in the main program (under `tsx src/main.ts` the loader is registered
// again; registering twice is harmless).
import { register } from "tsx/esm/api";

register();
await import("./prepare.worker.ts");
