// Exact withdrawal (issue 8): once a consent withdrawal answered 200, no message to that customer on
// that topic reaches the SMTP server, even while their messages are claimed and being handed to a
// slow server (the race: support/exact-stop.ts).
import { api, exactStopSuite } from "./support/exact-stop.ts";

exactStopSuite({
  name: "exact withdrawal", action: "opt out", rounds: 5, reason: "unsubscribed",
  stop: (c, topic) => api("PUT", `/v1/customers/${c.id}/consents/${topic}`, { status: "opted_out", source: "test" }),
});
