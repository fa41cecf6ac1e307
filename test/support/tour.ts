// A tour of the API: every operation of the route table called once with a valid request, in an
// order where each has what it needs (a topic before a consent, a template before a send). The
// responses are what the OpenAPI response schemas are checked against (test/openapi.test.ts).
import type { ApiResponse, Harness } from "./harness.ts";
import { email, rid } from "./harness.ts";
import { sink } from "./env.ts";
import { waitUntil } from "./wait.ts";

export interface TourStop {
  /** "METHOD /path/:param" as in src/api/routes.ts. */
  route: string;
  /** The request: its path (with query) and JSON body. */
  path: string;
  body?: unknown;
  res: ApiResponse;
}

/** `keep`: leave the customer, persona and webhook in place (the fuzz test sends bad input to them). */
export async function apiTour(h: Harness, opts: { devOutbox?: boolean; keep?: boolean } = {}): Promise<TourStop[]> {
  const stops: TourStop[] = [];
  const call = async (route: string, path: string, body?: unknown, o?: Parameters<Harness["api"]>[3]) => {
    const res = await h.api(route.split(" ")[0], path, body, o);
    stops.push({ route, path, body, res });
    if (res.status >= 300 && res.status !== 302) throw new Error(`${route} answered ${res.status}: ${res.text.slice(0, 400)}`);
    return res;
  };
  const s = rid();

  await call("GET /healthz", "/healthz");
  await call("GET /readyz", "/readyz");
  await call("GET /openapi.json", "/openapi.json");
  await call("GET /docs", "/docs", undefined, { headers: { accept: "text/html" } });
  await call("GET /docs/init.js", "/docs/init.js");

  const key = await call("POST /v1/api-keys", "/v1/api-keys", { name: `tour-${s}`, role: "developer" });
  await call("GET /v1/api-keys", "/v1/api-keys");
  await call("DELETE /v1/api-keys/:id", `/v1/api-keys/${key.body.id}`);

  const topic = `tour_${s}`;
  await call("POST /v1/topics", "/v1/topics", { key: topic, name: "Tour news", kind: "marketing", description: "Everything new" });
  await call("GET /v1/topics", "/v1/topics?limit=5");
  await call("GET /v1/topics/:key", `/v1/topics/${topic}`);
  await call("PATCH /v1/topics/:key", `/v1/topics/${topic}`, { name: "Tour news (weekly)" });

  const persona = `tourist_${s}`;
  await call("POST /v1/personas", "/v1/personas", {
    key: persona, name: "Tourist", story: "Comes for the views", goals: ["see"], concerns: ["price"],
    rule: { attr: "tour", op: "eq", value: s },
  });
  await call("GET /v1/personas", "/v1/personas?limit=5");
  await call("GET /v1/personas/:key", `/v1/personas/${persona}`);
  await call("PATCH /v1/personas/:key", `/v1/personas/${persona}`, { priority: 3 });

  const addr = email("tour");
  const customer = await call("POST /v1/customers", "/v1/customers", { email: addr, externalId: `ext-${s}`, name: "Ada", timezone: "Europe/Paris", attributes: { tour: s } });
  const cid = customer.body.id as string;
  await call("GET /v1/customers", `/v1/customers?externalId=ext-${s}`);
  await call("GET /v1/customers/:id", `/v1/customers/${cid}`);
  await call("PATCH /v1/customers/:id", `/v1/customers/${cid}`, { locale: "fr-FR" });
  await call("GET /v1/personas/:key/customers", `/v1/personas/${persona}/customers`);
  await call("PUT /v1/customers/:id/consents/:topicKey", `/v1/customers/${cid}/consents/${topic}`, { status: "opted_in", source: "tour", proof: "ticked the box" });
  await call("GET /v1/customers/:id/consents", `/v1/customers/${cid}/consents`);
  await call("GET /v1/customers/:id/consent-events", `/v1/customers/${cid}/consent-events`);
  await call("PUT /v1/customers/:id/cadence", `/v1/customers/${cid}/cadence`, { cadence: "weekly", source: "tour" });
  await call("GET /v1/customers/:id/cadence", `/v1/customers/${cid}/cadence`);
  await call("GET /v1/feedback", "/v1/feedback?limit=5");
  await call("GET /v1/customers/:id/consent-events/verify", `/v1/customers/${cid}/consent-events/verify`);

  const template = `tour_${s}`;
  await call("POST /v1/templates", "/v1/templates", {
    key: template, name: "Tour", subject: "Hello {{customer.name}}", html: '<p>Hi {{customer.name}}, <a href="https://example.com/rooms">see the rooms</a></p>',
    variants: [{ persona, subject: "Views for {{customer.name}}" }],
  });
  await call("GET /v1/templates", "/v1/templates?limit=5");
  await call("GET /v1/templates/:key", `/v1/templates/${template}`);
  await call("POST /v1/templates/:key/versions", `/v1/templates/${template}/versions`, { subject: "Hello again {{customer.name}}", html: '<p>Again: <a href="https://example.com/rooms">see the rooms</a></p>' });
  await call("GET /v1/templates/:key/versions", `/v1/templates/${template}/versions`);
  await call("GET /v1/templates/:key/versions/:n", `/v1/templates/${template}/versions/1`);
  await call("POST /v1/templates/:key/preview", `/v1/templates/${template}/preview`, { customerId: cid });

  const sent = await call("POST /v1/messages", "/v1/messages", { to: { customerId: cid }, template, topic, data: { n: 1 } });
  await call("GET /v1/messages", `/v1/messages?customerId=${cid}`);
  await waitUntil(async () => (await h.api("GET", `/v1/messages/${sent.body.id}`)).body.status === "sent", "the tour message sent");
  await call("GET /v1/messages/:id", `/v1/messages/${sent.body.id}`);
  await call("POST /v1/inbound/bounces", "/v1/inbound/bounces", { messageId: sent.body.id, type: "soft", diagnostic: "452 4.2.2 mailbox full" });
  await call("GET /v1/customers/:id/timeline", `/v1/customers/${cid}/timeline`);
  await call("GET /metrics", "/metrics");
  // The public links of the email that arrived: open pixel and one-click unsubscribe.
  const [mail] = await sink.waitFor(addr.toLowerCase());
  const unsubscribe = /^List-Unsubscribe:\s*<([^>]+)>/im.exec(mail.raw.replace(/\r?\n[ \t]+/g, " "))?.[1];
  if (!unsubscribe) throw new Error("the tour email has no List-Unsubscribe link");
  const uPath = new URL(unsubscribe).pathname;
  await call("POST /v1/inbound/mime", "/v1/inbound/mime", undefined, {
    raw: `From: someone@example.net\r\nTo: reply@rapport.localhost\r\nSubject: Re: hello\r\nIn-Reply-To: <${mail.messageId.replace(/[<>]/g, "")}>\r\n\r\nThanks!\r\n`,
    headers: { "content-type": "message/rfc822" },
  });
  const replies = await call("GET /v1/messages/:id/replies", `/v1/messages/${sent.body.id}/replies`);
  if (replies.body.data.length !== 1) throw new Error(`the tour's reply is not listed: ${replies.text}`);
  await call("GET /t/o/:token", "/t/o/not-a-token");
  const click = /(https?:\/\/[^\s"<>\]]+\/t\/c\/[^\s"<>\]]+)/.exec(`${String(mail.parsed.html)} ${mail.parsed.text ?? ""}`)?.[1];
  const prefs = /(https?:\/\/[^\s"<>\]]+\/preferences\/[^\s"<>\]]+)/.exec(`${String(mail.parsed.html)} ${mail.parsed.text ?? ""}`)?.[1];
  if (!click || !prefs) throw new Error("the tour email has no tracked link or preferences link");
  await call("GET /t/c/:token", new URL(click).pathname);
  await call("GET /preferences/:token", new URL(prefs).pathname, undefined, { headers: { accept: "text/html" } });
  await call("GET /u/:token", uPath, undefined, { headers: { accept: "text/html" } });
  await call("POST /u/:token", uPath, undefined, { raw: "List-Unsubscribe=One-Click", headers: { "content-type": "application/x-www-form-urlencoded" } });

  const imp = await call("POST /v1/customers/import", "/v1/customers/import", { customers: [{ email: email("tour-imp"), attributes: { tour: s } }] });
  await waitUntil(async () => (await h.api("GET", `/v1/imports/${imp.body.id}`)).body.status === "completed", "the tour import done");
  await call("GET /v1/imports/:id", `/v1/imports/${imp.body.id}`);

  const campaign = await call("POST /v1/campaigns", "/v1/campaigns", { name: `Tour ${s}`, topic, template, audience: { personas: [persona] }, localTime: "09:00", defaultTimezone: "UTC" });
  const camp = campaign.body.id as string;
  await call("GET /v1/campaigns", "/v1/campaigns?status=draft");
  await call("GET /v1/campaigns/:id", `/v1/campaigns/${camp}`);
  // Due tomorrow, not at a local time: it stays `scheduled` through pause, resume and cancel. (Due
  // now, an audience without consent finishes its fan-out at once, and the cancel raced it: 409.)
  await call("PATCH /v1/campaigns/:id", `/v1/campaigns/${camp}`, { rateLimitPerMinute: 600, localTime: null, defaultTimezone: null, scheduledAt: new Date(Date.now() + 86_400_000).toISOString() });
  await call("GET /v1/campaigns/:id/audience", `/v1/campaigns/${camp}/audience`);
  await call("POST /v1/campaigns/:id/schedule", `/v1/campaigns/${camp}/schedule`);
  await call("POST /v1/campaigns/:id/pause", `/v1/campaigns/${camp}/pause`);
  await call("POST /v1/campaigns/:id/resume", `/v1/campaigns/${camp}/resume`);
  await call("GET /v1/campaigns/:id/stats", `/v1/campaigns/${camp}/stats`);
  await call("POST /v1/campaigns/:id/cancel", `/v1/campaigns/${camp}/cancel`);

  const hook = await call("POST /v1/webhooks", "/v1/webhooks", { url: "http://127.0.0.1:9/hook", events: ["message.sent"] });
  const wid = hook.body.id as string;
  await call("GET /v1/webhooks", "/v1/webhooks");
  await call("GET /v1/webhooks/:id", `/v1/webhooks/${wid}`);
  await call("PATCH /v1/webhooks/:id", `/v1/webhooks/${wid}`, { enabled: true });
  await call("POST /v1/webhooks/:id/rotate-secret", `/v1/webhooks/${wid}/rotate-secret`);
  await call("POST /v1/webhooks/:id/test", `/v1/webhooks/${wid}/test`);
  const deliveries = await call("GET /v1/webhooks/:id/deliveries", `/v1/webhooks/${wid}/deliveries`);
  await call("POST /v1/webhooks/:id/deliveries/:deliveryId/replay", `/v1/webhooks/${wid}/deliveries/${deliveries.body.data[0].id}/replay`);
  if (!opts.keep) await call("DELETE /v1/webhooks/:id", `/v1/webhooks/${wid}`);

  if (opts.devOutbox) {
    const list = await call("GET /dev/outbox", "/dev/outbox", undefined, { headers: { accept: "application/json" } });
    const id = list.body.data[0].id as string;
    await call("GET /dev/outbox/:id", `/dev/outbox/${id}`, undefined, { headers: { accept: "application/json" } });
    await call("GET /dev/outbox/:id/raw", `/dev/outbox/${id}/raw`);
    await call("DELETE /dev/outbox", "/dev/outbox");
  }

  if (opts.keep) return stops;
  await call("DELETE /v1/personas/:key", `/v1/personas/${persona}`);
  await call("DELETE /v1/customers/:id", `/v1/customers/${cid}`);
  return stops;
}
