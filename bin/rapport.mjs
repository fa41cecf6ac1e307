#!/usr/bin/env node
// The `rapport` command (package.json "bin"): runs the TypeScript CLI through tsx, like `npm start`.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
