// Exact pause (issue 11): once a customer's pause of marketing answered 200, no marketing message to
// them reaches the SMTP server, even while their messages are claimed and being handed to a slow
// server (the hand-off gate's marketing scope; the race: support/exact-stop.ts).
import { api, exactStopSuite } from "./support/exact-stop.ts";

exactStopSuite({
  name: "exact pause", action: "pause marketing", rounds: 2, reason: "cadence",
  stop: (c) => api("PUT", `/v1/customers/${c.id}/cadence`, { pausedUntil: new Date(Date.now() + 30 * 86_400_000).toISOString(), source: "test" }),
});
