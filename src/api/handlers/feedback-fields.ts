// The optional "why, and anything we should know?" fields shared by the unsubscribe page and the
// preference center.
import { COMMENT_MAX, FEEDBACK_REASONS } from "../../modules/feedback/feedback.schema.ts";
import { esc } from "../pages.ts";

export function feedbackFieldset(question: string): string {
  const options = Object.entries(FEEDBACK_REASONS).map(([v, l]) => `<option value="${esc(v)}">${esc(l)}</option>`).join("");
  return `<fieldset><legend>Tell us why (optional)</legend>
<label for="reason">${esc(question)}</label>
<select id="reason" name="reason"><option value="">No answer</option>${options}</select>
<label for="comment">Is there anything we should know?</label>
<textarea id="comment" name="comment" rows="4" maxlength="${COMMENT_MAX}" aria-describedby="comment-hint"></textarea>
<p id="comment-hint" class="hint">Up to ${COMMENT_MAX} characters. Only our team reads it.</p>
</fieldset>`;
}
