// The shared layout every email body is placed in, and the partials templates may use.
//
// The body is inserted into the layout's source (at BODY) before CSS inlining and compiling, so the
// layout's styles reach the body's elements and one compiled function renders the whole email.
// The header and footer are inline partials declared first: a template may redefine `header` (or,
// for transactional mail, `footer`); marketing output is still checked for the unsubscribe link and
// the postal address after rendering (render.ts), so a broken footer can never go out.

export const BODY = "\u0000RAPPORT_BODY\u0000";

export const htmlLayout = `<!DOCTYPE html>
<html lang="{{default customer.locale "en"}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="x-apple-disable-message-reformatting">
<style>
body { margin: 0; padding: 0; background-color: #f4f4f5; }
.rp-wrap { background-color: #f4f4f5; padding: 24px 0; }
.rp-container { max-width: 600px; margin: 0 auto; background-color: #ffffff; font-family: Helvetica, Arial, sans-serif; color: #18181b; }
.rp-header { padding: 24px 24px 8px; font-size: 20px; font-weight: bold; }
.rp-body { padding: 8px 24px 24px; font-size: 16px; line-height: 1.5; }
.rp-footer { padding: 16px 24px 24px; font-size: 12px; line-height: 1.5; color: #71717a; border-top: 1px solid #e4e4e7; }
.rp-footer a { color: #52525b; text-decoration: underline; }
a { color: #2563eb; }
h1 { font-size: 24px; margin: 0 0 16px; }
p { margin: 0 0 16px; }
.rp-footer p { margin: 0 0 8px; }
@media (max-width: 620px) { .rp-container { width: 100% !important; } }
</style>
</head>
<body>
{{#*inline "header"}}<div class="rp-header">{{sender.name}}</div>{{/inline}}
{{#*inline "footer"}}<div class="rp-footer">
<p>{{sender.name}} · {{sender.postalAddress}}</p>
<p><a href="{{unsubscribeUrl}}">Unsubscribe</a> · <a href="{{preferencesUrl}}">Manage your preferences</a></p>
</div>{{/inline}}
<div class="rp-wrap"><div class="rp-container">
{{> header}}
<div class="rp-body">
${BODY}
</div>
{{> footer}}
</div></div>
</body>
</html>
`;

export const textLayout = `${BODY}

--
{{sender.name}}, {{sender.postalAddress}}
Unsubscribe: {{unsubscribeUrl}}
Manage your preferences: {{preferencesUrl}}
`;

/** Partials every template can call, e.g. {{> button href=data.url label="Read more"}}. Styles are inline. */
export const partials: Record<string, string> = {
  button:
    '<table role="presentation" cellpadding="0" cellspacing="0" border="0" style="margin: 8px 0 16px;"><tr>' +
    '<td style="border-radius: 6px; background-color: #2563eb;">' +
    '<a href="{{href}}" style="display: inline-block; padding: 12px 20px; color: #ffffff; text-decoration: none; font-weight: bold; font-family: Helvetica, Arial, sans-serif;">{{label}}</a>' +
    "</td></tr></table>",
  signature: "<p>— {{@root.sender.name}}</p>",
};

/** Names the layout provides as inline partials (a template may call or redefine them). */
export const layoutPartials = ["header", "footer"];

export function compose(layout: string, body: string): string {
  return layout.split(BODY).join(body);
}
