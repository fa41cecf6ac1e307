// Public preference center (signed link, no login, no cookies). Its form posts only from its own
// page (CSRF token bound to the link, same-site check): see csrf.ts.
import type { Request, Response } from "express";
import { z } from "zod";
import { CADENCES, cadenceWording } from "../../modules/consent/cadence.ts";
import { loadPreferences, savePreferences, type PreferenceTopic, type Preferences } from "../../modules/consent/preferences.service.ts";
import { feedbackFields } from "../../modules/feedback/feedback.schema.ts";
import { AppError } from "../../platform/errors.ts";
import { checkCsrf, csrfField } from "../csrf.ts";
import { esc, sendPage } from "../pages.ts";
import { feedbackFieldset } from "./feedback-fields.ts";

const invalid = () => new AppError("not_found", "This preferences link is invalid.");

const label = (t: PreferenceTopic) =>
  `<label><input type="checkbox" name="topic" value="${esc(t.key)}" id="topic-${esc(t.key)}"${t.status === "opted_in" || t.status === "pending" ? " checked" : ""}>
<strong>${esc(t.name)}</strong>${t.description ? ` — ${esc(t.description)}` : ""}${t.status === "pending" ? " <em>(waiting for your confirmation email)</em>" : ""}</label>`;

const PAUSE_DAYS = [7, 30, 90] as const;
const day = (d: Date) => d.toISOString().slice(0, 10);

function cadenceFieldset(p: Preferences): string {
  const radios = CADENCES.map((c) =>
    `<label><input type="radio" name="cadence" value="${c}" id="cadence-${c}"${p.cadence === c ? " checked" : ""}> ${esc(cadenceWording(c))}</label>`);
  const current = p.pausedUntil
    ? `<option value="keep" selected>Stay paused until ${day(p.pausedUntil)}</option><option value="none">Resume now</option>`
    : `<option value="none" selected>Do not pause</option>`;
  const pauses = PAUSE_DAYS.map((d) => `<option value="${d}">Pause for ${d} days</option>`).join("");
  return `<fieldset><legend>How often</legend>${radios.join("\n")}</fieldset>
<fieldset><legend>Take a break</legend>
${p.pausedUntil ? `<p id="paused">All marketing emails are paused until <strong>${day(p.pausedUntil)}</strong>.</p>` : ""}
<label for="pause">Pause all marketing emails</label>
<select id="pause" name="pause">${current}${pauses}</select>
</fieldset>`;
}

export async function show(req: Request, res: Response) {
  const token = String(req.params.token);
  const prefs = await loadPreferences(token);
  if (!prefs) throw invalid();
  const saved = req.query.saved === "1" ? `<p id="saved" role="status">Your preferences are saved.</p>` : "";
  sendPage(res, 200, "Your email preferences", `${saved}
<p>${prefs.name ? `${esc(prefs.name)}, choose` : "Choose"} what you want to receive.</p>
<form method="post" action="/preferences/${esc(encodeURIComponent(token))}">${csrfField(token)}
<fieldset><legend>Topics</legend>
${prefs.topics.map(label).join("\n") || "<p>There is nothing to subscribe to yet.</p>"}
</fieldset>
${cadenceFieldset(prefs)}
${feedbackFieldset("Why are you changing your preferences?")}
<p><button type="submit" id="save" name="action" value="save">Save preferences</button>
<button type="submit" id="unsubscribe-all" name="action" value="unsubscribe_all">Unsubscribe from all</button></p>
</form>`);
}

const form = feedbackFields.extend({
  csrf: z.string().max(2048),
  action: z.enum(["save", "unsubscribe_all"]).default("save"),
  topic: z.union([z.string().max(64), z.array(z.string().max(64)).max(500)]).optional(),
  cadence: z.enum(CADENCES).optional(),
  pause: z.enum(["keep", "none", ...PAUSE_DAYS.map(String)] as [string, ...string[]]).default("keep"),
});

export async function save(req: Request, res: Response) {
  const token = String(req.params.token);
  // An invalid link is 404 before anything else; then only this link's own page may post.
  if (!(await loadPreferences(token))) throw invalid();
  checkCsrf(req, token);
  const parsed = form.safeParse(req.body ?? {});
  if (!parsed.success) throw new AppError("validation", "The form could not be read. Please try again.");
  const { action, topic, cadence, pause, reason, comment } = parsed.data;
  const wanted = new Set(action === "unsubscribe_all" ? [] : Array.isArray(topic) ? topic : topic ? [topic] : []);
  const result = await savePreferences(token, {
    wanted, cadence, pause: pause === "keep" || pause === "none" ? pause : Number(pause), feedback: { reason, comment },
  }, { ip: req.ip, userAgent: req.get("user-agent")?.slice(0, 1000) });
  if (!result) throw invalid();
  // Post/redirect/get so that a reload does not resubmit.
  res.redirect(303, `/preferences/${encodeURIComponent(token)}?saved=1`);
}
