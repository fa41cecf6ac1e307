// The contract of the one rendering function (src/templates/render.ts), shared by preview, the send
// API and campaigns.

export interface RenderCustomer {
  id: string;
  name: string | null;
  email: string;
  locale: string | null;
  timezone: string | null;
  attributes: Record<string, unknown>;
}

export interface RenderPersona {
  key: string;
  name: string;
  description: string | null;
  story: string | null;
  goals: string[];
  concerns: string[];
  interests: string[];
}

export interface RenderTemplateVersion {
  /** template_versions.id: compiled templates are cached per version id. */
  id: string;
  key: string;
  version: number;
  subject: string;
  html: string;
  text: string | null;
  variants: Array<{ persona: string; subject?: string; html?: string; text?: string }>;
}

export interface Touchpoints {
  lastMessageSentAt: string | null;
  lastOpenAt: string | null;
  lastClickAt: string | null;
  messagesThisMonth: number;
}

export interface RenderInput {
  template: RenderTemplateVersion;
  customer: RenderCustomer;
  persona: RenderPersona | null;
  data: Record<string, unknown>;
  unsubscribeUrl: string;
  preferencesUrl: string;
  touchpoints?: Touchpoints;
  /** Marketing output must contain the unsubscribe link and the postal address, or rendering throws. */
  kind: "marketing" | "transactional";
  /** "preview" enables debugging helpers (json); default "send". */
  mode?: "send" | "preview";
}

export interface RenderOutput {
  subject: string;
  html: string;
  text: string;
  /** The persona key whose variant was used, or null for the default. */
  variant: string | null;
}
