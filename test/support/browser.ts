// Real Chromium through playwright-core (Debian's /usr/bin/chromium; never a downloaded browser).
import { chromium, type Browser } from "playwright-core";
import { lateBound } from "./late-bound.ts";

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** One browser for this test file, launched before its tests and closed after them. */
export const useBrowser = (): Browser => lateBound(launchBrowser, (b) => b.close(), "the browser");
