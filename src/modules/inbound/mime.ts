// Just enough MIME to read reports: header blocks (RFC 5322 folding), Content-Type parameters,
// transfer decoding, and the leaf parts of a multipart tree. mailparser reads the top-level message
// (subject, text, decoded headers) but merges `message/delivery-status` into the text and keeps
// `text/rfc822-headers` as text, so the parts of a report are split here. Pure functions.

export type Headers = Array<[name: string, value: string]>;

export interface Part {
  /** Lower-case type/subtype. */
  type: string;
  params: Record<string, string>;
  headers: Headers;
  /** The body after transfer decoding, as UTF-8 text. */
  body: string;
}

/** Head and body at the first empty line (CRLF or LF). */
export function splitHeadBody(raw: string): { head: string; body: string } {
  const m = /\r?\n\r?\n/.exec(raw);
  if (!m) return { head: raw, body: "" };
  return { head: raw.slice(0, m.index), body: raw.slice(m.index + m[0].length) };
}

/** Fields of a header block, names lower-cased, folded lines joined. Lines that are no field are skipped. */
export function parseHeaderBlock(text: string): Headers {
  const out: Headers = [];
  for (const line of text.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && out.length > 0) {
      out[out.length - 1][1] += ` ${line.trim()}`;
      continue;
    }
    const i = line.indexOf(":");
    if (i < 1 || !/^[\x21-\x39\x3b-\x7e]+$/.test(line.slice(0, i).trimEnd())) continue;
    out.push([line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim()]);
  }
  return out;
}

export const header = (h: Headers, name: string): string | undefined => h.find(([n]) => n === name)?.[1];
export const headers = (h: Headers, name: string): string[] => h.filter(([n]) => n === name).map(([, v]) => v);

/** `multipart/report; report-type=delivery-status; boundary="x"` -> type and parameters. */
export function contentType(value: string | undefined): { type: string; params: Record<string, string> } {
  if (!value) return { type: "text/plain", params: {} };
  const [type, ...rest] = value.split(";");
  const params: Record<string, string> = {};
  const re = /([a-zA-Z0-9*_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/g;
  for (const m of rest.join(";").matchAll(re)) params[m[1].toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3];
  return { type: type.trim().toLowerCase(), params };
}

function decodeQuotedPrintable(s: string): Buffer {
  const soft = s.replace(/=\r?\n/g, "");
  const bytes: number[] = [];
  for (let i = 0; i < soft.length; i++) {
    const c = soft[i];
    if (c === "=" && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(soft.charCodeAt(i) & 0xff);
  }
  return Buffer.from(bytes);
}

/** `raw` holds bytes as latin1 characters (binary-safe); the result is UTF-8 text. */
function decodeBody(body: string, encoding: string | undefined): string {
  const e = (encoding ?? "7bit").trim().toLowerCase();
  if (e === "base64") return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ""), "base64").toString("utf8");
  if (e === "quoted-printable") return decodeQuotedPrintable(body).toString("utf8");
  return Buffer.from(body, "latin1").toString("utf8");
}

const MAX_DEPTH = 8;
const MAX_PARTS = 50;

/**
 * The leaf parts of an entity (multiparts are descended, up to MAX_DEPTH levels and MAX_PARTS parts;
 * attached messages are leaves: a returned message is read as one part). `raw` as latin1 text.
 */
export function leafParts(raw: string, depth = 0, out: Part[] = []): Part[] {
  const { head, body } = splitHeadBody(raw);
  const h = parseHeaderBlock(head);
  const ct = contentType(header(h, "content-type"));
  if (ct.type.startsWith("multipart/") && ct.params.boundary && depth < MAX_DEPTH) {
    for (const chunk of multipartChunks(body, ct.params.boundary)) {
      if (out.length >= MAX_PARTS) break;
      leafParts(chunk, depth + 1, out);
    }
    return out;
  }
  if (out.length < MAX_PARTS) out.push({ type: ct.type, params: ct.params, headers: h, body: decodeBody(body, header(h, "content-transfer-encoding")) });
  return out;
}

/** The bodies between `--boundary` lines (the preamble and epilogue are dropped). */
function multipartChunks(body: string, boundary: string): string[] {
  const lines = body.split(/\r?\n/);
  const chunks: string[] = [];
  let cur: string[] | null = null;
  for (const line of lines) {
    const t = line.trimEnd();
    if (t === `--${boundary}--`) {
      if (cur) chunks.push(cur.join("\r\n"));
      return chunks;
    }
    if (t === `--${boundary}`) {
      if (cur) chunks.push(cur.join("\r\n"));
      cur = [];
      continue;
    }
    cur?.push(line);
  }
  // A truncated multipart (no closing delimiter, common in returned mail) keeps its last part.
  if (cur && cur.length > 0) chunks.push(cur.join("\r\n"));
  return chunks;
}

/**
 * The per-message and per-recipient field groups of a message/delivery-status body (RFC 3464 §2.1):
 * groups separated by empty lines; the first is the per-message group.
 */
export function fieldGroups(body: string): Headers[] {
  return body
    .split(/\r?\n[ \t]*\r?\n/)
    .map((g) => parseHeaderBlock(g))
    .filter((g) => g.length > 0);
}
