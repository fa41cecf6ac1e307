// Posting a public page's own form the way its page would: the hidden fields (CSRF token) taken
// from the page the server rendered.

/** The hidden fields of the first form on the page at `url`. */
export async function hiddenFields(url: string): Promise<Record<string, string>> {
  const html = await (await fetch(url)).text();
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[m[1]] = m[2];
  if (!fields.csrf) throw new Error(`no form with a CSRF token on ${url}`);
  return fields;
}

/** POSTs a urlencoded form to `url` (extra fields after the page's hidden ones). */
export function postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString(),
    redirect: "manual",
  });
}
