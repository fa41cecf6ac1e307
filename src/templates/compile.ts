// The sources a template version compiles from: which parts a persona gets, and the documents
// (the layout around the body, CSS inlined). Used by prepare.ts, in a worker thread.
import juice from "juice";
import { compose, htmlLayout, textLayout } from "./layout.ts";
import type { RenderTemplateVersion } from "./render.types.ts";

export type TemplateSource = Pick<RenderTemplateVersion, "subject" | "html" | "text" | "variants">;

export interface PartSource {
  src: string;
  /** Where it comes from, for error messages: "html", "variants.1.subject", ... */
  part: string;
}

export interface VariantSource {
  /** The persona key of the variant used, null for the default. */
  variant: string | null;
  subject: PartSource;
  html: PartSource;
  /** null: the text is derived from the rendered HTML. */
  text: PartSource | null;
}

/** The parts a customer of persona `personaKey` gets: the persona's variant over the default. */
export function variantSource(t: TemplateSource, personaKey: string | null): VariantSource {
  const i = personaKey === null ? -1 : t.variants.findIndex((v) => v.persona === personaKey);
  const v = i >= 0 ? t.variants[i] : undefined;
  const pick = (own: string | undefined, name: "subject" | "html"): PartSource =>
    own !== undefined ? { src: own, part: `variants.${i}.${name}` } : { src: t[name], part: name };
  let text: PartSource | null = null;
  if (v?.text !== undefined) text = { src: v.text, part: `variants.${i}.text` };
  // A variant with its own HTML but no text gets text derived from its HTML, not the default's text.
  else if (v?.html === undefined && t.text !== null && t.text !== undefined) text = { src: t.text, part: "text" };
  return { variant: v ? v.persona : null, subject: pick(v?.subject, "subject"), html: pick(v?.html, "html"), text };
}

const juiceOptions = { preserveMediaQueries: true, removeStyleTags: true, preserveImportant: true };
// The code blocks juice would protect by itself (its defaults, in its order: EJS, then HBS).
const codeBlocks = [/<%([\S\s]*?)%>/g, /\{\{([\S\s]*?)\}\}/g];

/**
 * The layout around the body, with CSS inlined for email clients. juice is slow (milliseconds), so
 * this runs once per compiled variant, on the Handlebars source, with every `{{...}}` kept out of
 * its HTML parser as an opaque word and put back untouched afterwards. juice can do that itself,
 * but it restores each block with a scan of the whole document: quadratic, 4 s for 256 KB of
 * template. Here the blocks are swapped the same way (same patterns, same order, so the output is
 * identical) and restored in one pass.
 */
export function htmlDocumentSource(body: string): string {
  const src = compose(htmlLayout, body);
  // A placeholder word the source does not already contain (any case: HTML lower-cases attribute names).
  const lower = src.toLowerCase();
  let word = "rapportcodeblock";
  while (lower.includes(word)) word += "x";
  const blocks: string[] = [];
  let encoded = src;
  for (const re of codeBlocks) encoded = encoded.replace(re, (m) => `${word}${blocks.push(m) - 1}_`);
  const inlined = juice(encoded, juiceOptions);
  // juice writes a block in attribute-name position as name="": drop the ="" as juice itself does.
  return blocks.length ? inlined.replace(new RegExp(`${word}(\\d+)_(="")?`, "gi"), (_, i: string) => blocks[Number(i)]) : inlined;
}

export const textDocumentSource = (body: string) => compose(textLayout, body);
