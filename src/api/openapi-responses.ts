// What each operation answers on success, as zod schemas: /openapi.json documents them (named
// components, so the generated client has a type per resource), and test/openapi.test.ts checks
// that the engine's real answers validate against them. Objects are closed (additionalProperties:
// false): a field added to a view without being added here fails that test.
import { z } from "zod";
import { cadenceSchema } from "../modules/consent/cadence.ts";
import { FEEDBACK_SOURCES } from "../modules/feedback/feedback.schema.ts";

const instant = z.string().meta({ format: "date-time", examples: ["2026-05-04T09:00:00.000Z"] });
const uuid = z.string().meta({ format: "uuid", examples: ["01a2298d-dc9d-719e-842f-a664e60e2183"] });

export const apiKey = z.object({
  id: uuid, name: z.string(), role: z.enum(["admin", "marketer", "developer"]), prefix: z.string(),
  createdAt: instant, revokedAt: instant.nullable(),
}).meta({ examples: [{ id: "01a2298d-dc36-73cf-a18c-4bdd05f0a1d2", name: "shop backend", role: "developer", prefix: "rpk_59gZU_3w", createdAt: "2026-05-04T09:00:00.000Z", revokedAt: null }] });
export const createdApiKey = apiKey.omit({ revokedAt: true }).extend({
  key: z.string().meta({ description: "The secret, shown once" }),
});

export const topic = z.object({
  id: uuid, key: z.string(), name: z.string(), description: z.string().nullable(), kind: z.enum(["marketing", "transactional"]),
  doubleOptIn: z.boolean(), tracking: z.object({ opens: z.boolean(), clicks: z.boolean() }), createdAt: instant, updatedAt: instant,
}).meta({ examples: [{ id: "01a2298d-dc5c-7478-9d32-b76cd51f9ba7", key: "weekly_news", name: "Weekly news", description: "What is new each week", kind: "marketing", doubleOptIn: false, tracking: { opens: true, clicks: true }, createdAt: "2026-05-04T09:00:00.000Z", updatedAt: "2026-05-04T09:00:00.000Z" }] });

export const customer = z.object({
  id: uuid, email: z.string(), externalId: z.string().nullable(), name: z.string().nullable(), locale: z.string().nullable(),
  timezone: z.string().nullable(), attributes: z.record(z.string(), z.unknown()), persona: z.string().nullable(),
  personaSource: z.enum(["explicit", "rule"]).nullable(), cadence: cadenceSchema, pausedUntil: instant.nullable(), createdAt: instant, updatedAt: instant,
}).meta({ examples: [{ id: "01a2298d-dc9d-719e-842f-a664e60e2183", email: "ada@example.com", externalId: "crm-42", name: "Ada", locale: "fr-FR", timezone: "Europe/Paris", attributes: { tier: "gold" }, persona: "family", personaSource: "rule", cadence: "any", pausedUntil: null, createdAt: "2026-05-04T09:00:00.000Z", updatedAt: "2026-05-04T09:00:00.000Z" }] });

export const consent = z.object({
  topic: z.string(), channel: z.enum(["email"]), status: z.enum(["pending", "opted_in", "opted_out"]), updatedAt: instant,
}).meta({ examples: [{ topic: "weekly_news", channel: "email", status: "opted_in", updatedAt: "2026-05-04T09:00:00.000Z" }] });

export const consentEvent = z.object({
  id: z.string(), topic: z.string(), channel: z.enum(["email"]), action: z.string(), status: z.enum(["pending", "opted_in", "opted_out"]),
  source: z.string(), proof: z.string().nullable(), ip: z.string().nullable(), userAgent: z.string().nullable(),
  wording: z.string().nullable(), actor: z.string().nullable(), createdAt: instant,
});

export const cadence = z.object({
  cadence: cadenceSchema,
  pausedUntil: instant.nullable().meta({ description: "All marketing paused until then; null when not paused" }),
}).meta({ examples: [{ cadence: "monthly", pausedUntil: null }] });

export const feedback = z.object({
  id: uuid, customerId: uuid, source: z.enum(FEEDBACK_SOURCES), reason: z.string().nullable(),
  comment: z.string().nullable().meta({ description: "Null when none was given, or once the customer is erased" }),
  topic: z.string().nullable(), messageId: z.string().nullable(), createdAt: instant,
});

export const ledgerVerdict = z.object({
  valid: z.boolean(), checked: z.number().int(), unchained: z.number().int(),
  firstInvalid: z.object({ id: z.string(), createdAt: instant }).optional(),
}).meta({ examples: [{ valid: true, checked: 3, unchained: 0 }] });

const engagementCounts = { opened: z.number().int(), clicked: z.number().int(), machineOpened: z.number().int(), machineClicked: z.number().int() };

export const timelineEntry = z.object({
  kind: z.enum(["message", "engagement", "consent"]), type: z.string(), at: instant, messageId: z.string().nullable(),
  topic: z.string().nullable(), template: z.string().nullable(), campaignId: z.string().nullable(), url: z.string().nullable(),
  source: z.string().nullable(), machine: z.boolean().optional(), engagement: z.object(engagementCounts).optional(),
});

export const persona = z.object({
  id: uuid, key: z.string(), name: z.string(), description: z.string().nullable(), story: z.string().nullable(),
  goals: z.array(z.string()), concerns: z.array(z.string()), interests: z.array(z.string()),
  rule: z.record(z.string(), z.unknown()).nullable().meta({ description: "A Condition (all/any/not/attr)" }),
  priority: z.number().int(), createdAt: instant, updatedAt: instant,
}).meta({ examples: [{ id: "01a2298d-dc80-74db-80ad-20e61f6b4c2e", key: "family", name: "Family planner", description: null, story: "Books the school holidays a year ahead", goals: ["space for the kids"], concerns: ["price"], interests: [], rule: { attr: "children", op: "gt", value: 0 }, priority: 10, createdAt: "2026-05-04T09:00:00.000Z", updatedAt: "2026-05-04T09:00:00.000Z" }] });

const lintIssue = z.object({ part: z.string(), line: z.number().int(), column: z.number().int(), message: z.string() });

export const templateVersion = z.object({
  key: z.string(), version: z.number().int(), versionId: uuid, name: z.string(), subject: z.string(), html: z.string(),
  text: z.string().nullable(),
  variants: z.array(z.object({ persona: z.string(), subject: z.string().optional(), html: z.string().optional(), text: z.string().optional() })),
  createdAt: instant,
  warnings: z.array(lintIssue).optional().meta({ description: "Lint warnings, on a save only" }),
}).meta({ examples: [{ key: "welcome", version: 1, versionId: "01a2298d-df26-730e-844c-858f3486c868", name: "Welcome", subject: "Hello {{customer.name}}", html: "<p>Hi {{customer.name}}</p>", text: null, variants: [{ persona: "family", subject: "Room for everyone, {{customer.name}}" }], createdAt: "2026-05-04T09:00:00.000Z" }] });

export const templateSummary = z.object({ key: z.string(), name: z.string(), version: z.number().int(), createdAt: instant, updatedAt: instant });

export const preview = z.object({
  subject: z.string(), html: z.string(), text: z.string(), persona: z.string().nullable(),
  personaSource: z.enum(["explicit", "rule", "preview"]).nullable(), variant: z.string().nullable(), version: z.number().int(),
  warnings: z.array(z.unknown()),
});

const messageStatus = z.enum(["queued", "sending", "sent", "failed", "bounced", "suppressed"]);
export const message = z.object({
  id: uuid, status: messageStatus, reason: z.string().nullable(), customerId: z.string().nullable(), campaignId: z.string().nullable(),
  template: z.string(), version: z.number().int(), persona: z.string().nullable(), topic: z.string(), attempts: z.number().int(),
  consentEventId: z.string().nullable().meta({ description: "The consent ledger row that allowed the SMTP hand-off" }),
  renderedPersona: z.string().nullable(), renderedVariant: z.string().nullable(), createdAt: instant, sentAt: instant.nullable(), updatedAt: instant,
}).meta({ examples: [{ id: "01a2298d-df7e-798c-819f-c7b06074132c", status: "queued", reason: null, customerId: "01a2298d-dc9d-719e-842f-a664e60e2183", campaignId: null, template: "welcome", version: 1, persona: "family", topic: "weekly_news", attempts: 0, consentEventId: null, renderedPersona: null, renderedVariant: null, createdAt: "2026-05-04T09:00:00.000Z", sentAt: null, updatedAt: "2026-05-04T09:00:00.000Z" }] });

export const messageDetail = message.extend({
  engagement: z.object({ ...engagementCounts, unsubscribed: z.number().int(), complained: z.number().int() }),
  events: z.array(z.object({ type: z.string(), createdAt: instant })),
});

const findingType = z.enum(["hard_bounce", "soft_bounce", "complaint", "auto_reply", "reply"]);
export const inboundResult = z.object({
  kind: z.enum(["dsn", "arf", "bounce", "auto_reply", "reply", "json"]),
  duplicate: z.boolean().meta({ description: "Every finding was applied before: nothing changed now" }),
  ignored: z.string().optional(), messageId: z.string().nullable(), customerId: z.string().nullable(),
  findings: z.array(z.object({ type: findingType, code: z.string().nullable(), applied: z.boolean(), suppressed: z.boolean().optional() })),
}).meta({ examples: [{ kind: "json", duplicate: false, messageId: "01a2298d-df7e-798c-819f-c7b06074132c", customerId: "01a2298d-dc9d-719e-842f-a664e60e2183", findings: [{ type: "hard_bounce", code: null, applied: true, suppressed: true }] }] });
export const reply = z.object({
  id: z.string(), type: findingType, autoReplyKind: z.string().nullable(), receivedAt: instant,
  subject: z.string().nullable(), text: z.string().nullable(),
});

export const importJob = z.object({
  id: uuid, status: z.enum(["receiving", "queued", "running", "completed", "failed"]), format: z.enum(["csv", "json"]),
  total: z.number().int(), processed: z.number().int(), created: z.number().int(), updated: z.number().int(), failed: z.number().int(),
  errors: z.array(z.object({ row: z.number().int(), field: z.string().optional(), message: z.string() })),
  createdAt: instant, finishedAt: instant.nullable(),
});
export const importAccepted = z.object({ id: uuid, status: z.enum(["receiving", "queued", "running", "completed", "failed"]) });

const counts = {
  targeted: z.number().int(), queued: z.number().int(), sent: z.number().int(), suppressed: z.number().int(), failed: z.number().int(),
  bounced: z.number().int(), suppressedByReason: z.record(z.string(), z.number().int()), ...engagementCounts,
  unsubscribed: z.number().int(), complained: z.number().int(),
};
export const campaignCounts = z.object(counts);
export const campaign = z.object({
  id: uuid, name: z.string(), status: z.enum(["draft", "scheduled", "running", "paused", "completed", "canceled"]), topic: z.string(),
  template: z.string(), version: z.number().int(),
  audience: z.object({ personas: z.array(z.string()).optional(), rule: z.record(z.string(), z.unknown()).optional(), excludeRecentHours: z.number().int().optional() }),
  scheduledAt: instant.nullable(), localTime: z.string().nullable(), defaultTimezone: z.string().nullable(),
  sendWindow: z.object({ start: z.string(), end: z.string() }).nullable(), rateLimitPerMinute: z.number().int().nullable(),
  pausedReason: z.string().nullable(), counts: campaignCounts, fanout: z.object({ done: z.boolean(), finishedAt: instant.nullable() }),
  createdAt: instant, updatedAt: instant, startedAt: instant.nullable(), completedAt: instant.nullable(),
});
export const campaignAudience = z.object({
  total: z.number().int(), consenting: z.number().int(),
  byPersona: z.array(z.object({ persona: z.string().nullable(), total: z.number().int(), consenting: z.number().int() })),
  sample: z.array(z.object({ id: uuid, persona: z.string().nullable(), timezone: z.string().nullable(), locale: z.string().nullable() })),
});
export const campaignStats = z.object({
  data: z.array(z.object({ persona: z.string().nullable(), ...counts })),
  total: campaignCounts,
  topLinks: z.array(z.object({ url: z.string(), clicks: z.number().int(), machineClicks: z.number().int() }))
    .meta({ description: "The campaign's ten most clicked links (every click, human apart from machine)" }),
});

export const webhook = z.object({
  id: uuid, url: z.string(), events: z.array(z.string()), enabled: z.boolean(), disabledAt: instant.nullable(),
  disabledReason: z.string().nullable(), failingSince: instant.nullable(), previousSecretExpiresAt: instant.nullable(),
  createdAt: instant, updatedAt: instant,
});
export const webhookWithSecret = webhook.extend({ secret: z.string().meta({ description: "Standard Webhooks signing secret, shown once" }) });
export const webhookDelivery = z.object({
  id: uuid, event: z.string(), status: z.enum(["pending", "delivered", "failed"]), attempts: z.number().int(),
  lastStatusCode: z.number().int().nullable(), nextAttemptAt: instant.nullable(), createdAt: instant, deliveredAt: instant.nullable(),
  log: z.array(z.object({
    attempt: z.number().int(), statusCode: z.number().int().nullable(), outcome: z.string(), response: z.string().nullable(),
    durationMs: z.number(), nextAttemptAt: instant.nullable(), at: instant,
  })),
});

export const health = z.object({ status: z.literal("ok") });
export const readiness = z.object({
  status: z.enum(["ready", "unavailable"]),
  checks: z.object({ database: z.enum(["ok", "down"]), redis: z.enum(["ok", "down"]) }),
});

const outboxSummary = { id: uuid, receivedAt: instant, from: z.string().nullable(), to: z.array(z.string()), subject: z.string().nullable() };
export const outboxItem = z.object({ ...outboxSummary, links: z.object({ self: z.string(), raw: z.string() }) });
export const outboxMessage = z.object({
  ...outboxSummary, headers: z.array(z.object({ name: z.string(), value: z.string() })), html: z.string().nullable(), text: z.string().nullable(),
  links: z.array(z.string()), attachments: z.array(z.object({ filename: z.string().nullable(), contentType: z.string(), size: z.number().int() })),
});

/** Named in components.schemas (the client's type names). */
export const components = {
  ApiKey: apiKey, CreatedApiKey: createdApiKey, Topic: topic, Customer: customer, Consent: consent, ConsentEvent: consentEvent,
  LedgerVerdict: ledgerVerdict, Cadence: cadence, Feedback: feedback, TimelineEntry: timelineEntry, Persona: persona, TemplateVersion: templateVersion,
  TemplateSummary: templateSummary, Preview: preview, Message: message, MessageDetail: messageDetail, InboundResult: inboundResult, Reply: reply, Import: importJob,
  ImportAccepted: importAccepted, Campaign: campaign, CampaignCounts: campaignCounts, CampaignAudience: campaignAudience,
  CampaignStats: campaignStats, Webhook: webhook, WebhookWithSecret: webhookWithSecret, WebhookDelivery: webhookDelivery,
  Health: health, Readiness: readiness, OutboxItem: outboxItem, OutboxMessage: outboxMessage,
} satisfies Record<string, z.ZodType>;
export type ComponentName = keyof typeof components;

/** One success response: a named schema, a page of one, or another media type. */
export type Success =
  | { status: number; json: ComponentName; description: string }
  | { status: number; page: ComponentName; description: string }
  | { status: number; media: string; description: string; headers?: Record<string, string> }
  | { status: 204 | 302 | 303; description: string; headers?: Record<string, string> };
