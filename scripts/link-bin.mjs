// postinstall: npm links the bins of dependencies into node_modules/.bin, not the project's own, so
// `npx rapport` inside this repository would look for a package named rapport in the registry.
// Linking bin/rapport.mjs there makes it run this checkout's CLI.
import { mkdirSync, rmSync, symlinkSync } from "node:fs";

mkdirSync("node_modules/.bin", { recursive: true });
rmSync("node_modules/.bin/rapport", { force: true });
symlinkSync("../../bin/rapport.mjs", "node_modules/.bin/rapport");
