import { z } from "zod";
import { pageQuery } from "../../platform/pagination.ts";

/** Why, as a fixed label (kept in clear: it cannot quote the person). */
export const FEEDBACK_REASONS = {
  too_many: "Too many emails",
  not_relevant: "Not relevant to me",
  never_signed_up: "I never signed up",
  content: "I did not like the content",
  other: "Something else",
} as const;
export type FeedbackReason = keyof typeof FEEDBACK_REASONS;
export const feedbackReason = z.enum(Object.keys(FEEDBACK_REASONS) as [FeedbackReason, ...FeedbackReason[]]);

export const FEEDBACK_SOURCES = ["unsubscribe-page", "preference-center"] as const;
// Public forms are at most 16 KB urlencoded: 1,000 characters fit even when each takes 9 bytes.
export const COMMENT_MAX = 1000;

/**
 * The optional fields of the unsubscribe page and the preference center. Empty fields mean "no
 * answer"; both empty: no feedback at all.
 */
export const feedbackFields = z.object({
  reason: z.union([z.literal(""), feedbackReason]).optional(),
  comment: z.string().max(COMMENT_MAX, `Up to ${COMMENT_MAX} characters`).optional(),
});
export type FeedbackFields = z.infer<typeof feedbackFields>;

/** GET /v1/feedback */
export const listFeedbackQuery = pageQuery.extend({
  customerId: z.uuid().optional(),
  source: z.enum(FEEDBACK_SOURCES).optional(),
});
export type ListFeedbackQuery = z.infer<typeof listFeedbackQuery>;
