// Public preference center (signed link, no login, no cookies).
import type { Request, Response } from "express";
import { z } from "zod";
import { loadPreferences, savePreferences, type PreferenceTopic } from "../../modules/consent/preferences.service.ts";
import { esc, sendPage } from "../pages.ts";

const invalid = (res: Response) => sendPage(res, 404, "Link not valid", "<p>This preferences link is invalid.</p>");

const label = (t: PreferenceTopic) =>
  `<label><input type="checkbox" name="topic" value="${esc(t.key)}" id="topic-${esc(t.key)}"${t.status === "opted_in" || t.status === "pending" ? " checked" : ""}>
<strong>${esc(t.name)}</strong>${t.description ? ` — ${esc(t.description)}` : ""}${t.status === "pending" ? " <em>(waiting for your confirmation email)</em>" : ""}</label>`;

export async function show(req: Request, res: Response) {
  const token = String(req.params.token);
  const prefs = await loadPreferences(token);
  if (!prefs) return invalid(res);
  const saved = req.query.saved === "1" ? `<p id="saved" role="status">Your preferences are saved.</p>` : "";
  sendPage(res, 200, "Your email preferences", `${saved}
<p>${prefs.name ? `${esc(prefs.name)}, choose` : "Choose"} what you want to receive.</p>
<form method="post" action="/preferences/${esc(encodeURIComponent(token))}">
${prefs.topics.map(label).join("\n") || "<p>There is nothing to subscribe to yet.</p>"}
<p><button type="submit" id="save" name="action" value="save">Save preferences</button>
<button type="submit" id="unsubscribe-all" name="action" value="unsubscribe_all">Unsubscribe from all</button></p>
</form>`);
}

const form = z.object({
  action: z.enum(["save", "unsubscribe_all"]).default("save"),
  topic: z.union([z.string().max(64), z.array(z.string().max(64)).max(500)]).optional(),
});

export async function save(req: Request, res: Response) {
  const token = String(req.params.token);
  const parsed = form.safeParse(req.body ?? {});
  if (!parsed.success) return sendPage(res, 400, "Something went wrong", "<p>The form could not be read. Please try again.</p>");
  const { action, topic } = parsed.data;
  const wanted = new Set(action === "unsubscribe_all" ? [] : Array.isArray(topic) ? topic : topic ? [topic] : []);
  const result = await savePreferences(token, wanted, { ip: req.ip, userAgent: req.get("user-agent")?.slice(0, 1000) });
  if (!result) return invalid(res);
  // Post/redirect/get so that a reload does not resubmit.
  res.redirect(303, `/preferences/${encodeURIComponent(token)}?saved=1`);
}
