// Entry point. Imports lazily so that configuration and infrastructure problems print one clear
// line saying what to fix, not a stack trace.
try {
  const { run } = await import("./start.ts");
  await run();
} catch (err) {
  const e = err as Error & { code?: string };
  if (e?.name === "StartupError" || e?.constructor?.name === "ConfigError" || e?.constructor?.name === "StartupError") {
    console.error(`rapport: ${e.message}`);
  } else if (e?.code === "EADDRINUSE") {
    console.error(`rapport: ${e.message}: another process holds the port; stop it or set PORT.`);
  } else {
    console.error("rapport: failed to start:", err);
  }
  process.exit(1);
}
