// Public preference center (signed link, no login, no cookies). Its form posts only from its own
// page (CSRF token bound to the link, same-site check): see csrf.ts.
import type { Request, Response } from "express";
import { z } from "zod";
import { loadPreferences, savePreferences, type PreferenceTopic } from "../../modules/consent/preferences.service.ts";
import { AppError } from "../../platform/errors.ts";
import { checkCsrf, csrfField } from "../csrf.ts";
import { esc, sendPage } from "../pages.ts";

const invalid = () => new AppError("not_found", "This preferences link is invalid.");

const label = (t: PreferenceTopic) =>
  `<label><input type="checkbox" name="topic" value="${esc(t.key)}" id="topic-${esc(t.key)}"${t.status === "opted_in" || t.status === "pending" ? " checked" : ""}>
<strong>${esc(t.name)}</strong>${t.description ? ` — ${esc(t.description)}` : ""}${t.status === "pending" ? " <em>(waiting for your confirmation email)</em>" : ""}</label>`;

export async function show(req: Request, res: Response) {
  const token = String(req.params.token);
  const prefs = await loadPreferences(token);
  if (!prefs) throw invalid();
  const saved = req.query.saved === "1" ? `<p id="saved" role="status">Your preferences are saved.</p>` : "";
  sendPage(res, 200, "Your email preferences", `${saved}
<p>${prefs.name ? `${esc(prefs.name)}, choose` : "Choose"} what you want to receive.</p>
<form method="post" action="/preferences/${esc(encodeURIComponent(token))}">${csrfField(token)}
${prefs.topics.map(label).join("\n") || "<p>There is nothing to subscribe to yet.</p>"}
<p><button type="submit" id="save" name="action" value="save">Save preferences</button>
<button type="submit" id="unsubscribe-all" name="action" value="unsubscribe_all">Unsubscribe from all</button></p>
</form>`);
}

const form = z.object({
  csrf: z.string().max(2048),
  action: z.enum(["save", "unsubscribe_all"]).default("save"),
  topic: z.union([z.string().max(64), z.array(z.string().max(64)).max(500)]).optional(),
});

export async function save(req: Request, res: Response) {
  const token = String(req.params.token);
  // An invalid link is 404 before anything else; then only this link's own page may post.
  if (!(await loadPreferences(token))) throw invalid();
  checkCsrf(req, token);
  const parsed = form.safeParse(req.body ?? {});
  if (!parsed.success) throw new AppError("validation", "The form could not be read. Please try again.");
  const { action, topic } = parsed.data;
  const wanted = new Set(action === "unsubscribe_all" ? [] : Array.isArray(topic) ? topic : topic ? [topic] : []);
  const result = await savePreferences(token, wanted, { ip: req.ip, userAgent: req.get("user-agent")?.slice(0, 1000) });
  if (!result) throw invalid();
  // Post/redirect/get so that a reload does not resubmit.
  res.redirect(303, `/preferences/${encodeURIComponent(token)}?saved=1`);
}
