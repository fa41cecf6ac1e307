// SMTP's DATA transparency (RFC 5321 4.5.2) for nodemailer's DataStream, without a JavaScript loop
// over every byte. nodemailer's own transform reads each byte and its predecessor: ~50 µs for an
// 8.8 KB message, a tenth of a delivery worker's CPU (bench/README.md). The rules below are exactly
// its rules (bare CR -> CRLF, a dot after a bare CR stuffed, bare LF -> CRLF, a dot at the start of a
// line doubled), but they can only fire at a line end, just after one, or at the chunk's first byte,
// and Buffer.indexOf (memchr) finds those. installFastDotStuffing checks itself against nodemailer's
// transform on tricky input before it replaces it, so a nodemailer whose rules changed keeps its own.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const INSERT_LF = Buffer.from("\n");
const INSERT_LF_DOT = Buffer.from("\n.");
const INSERT_CR = Buffer.from("\r");
const INSERT_DOT = Buffer.from(".");

/** What nodemailer's rule inserts before byte `i` (prev: the byte before it, false at the stream start). */
function insertAt(chunk: Buffer, i: number, prev: number | false): Buffer | null {
  const byte = chunk[i];
  if (prev === CR && byte !== LF) return byte === DOT ? INSERT_LF_DOT : INSERT_LF;
  if (byte === LF && prev !== CR) return INSERT_CR;
  if (byte === DOT && (prev === LF || prev === false)) return INSERT_DOT;
  return null;
}

/**
 * The chunk as nodemailer's DataStream would push it, given the last byte of the previous chunk
 * (false before the first). Returns the chunk itself when nothing is inserted.
 */
export function stuffChunk(chunk: Buffer, lastByte: number | false): Buffer {
  const parts: Buffer[] = [];
  let outLength = 0;
  let copied = 0;
  const visit = (i: number) => {
    const insert = insertAt(chunk, i, i ? chunk[i - 1] : lastByte);
    if (!insert) return;
    if (i > copied) parts.push(chunk.subarray(copied, i));
    parts.push(insert);
    outLength += i - copied + insert.length;
    copied = i;
  };
  const len = chunk.length;
  visit(0);
  // Every other position where a rule can fire: a LF, the byte after a LF, the byte after a CR.
  let cr = chunk.indexOf(CR, 0);
  let lf = chunk.indexOf(LF, 0);
  let last = 0;
  const at = (i: number) => {
    if (i > last && i < len) {
      visit(i);
      last = i;
    }
  };
  while (cr !== -1 || lf !== -1) {
    if (lf !== -1 && (cr === -1 || lf < cr)) {
      at(lf);
      at(lf + 1);
      lf = chunk.indexOf(LF, lf + 1);
    } else {
      at(cr + 1);
      cr = chunk.indexOf(CR, cr + 1);
    }
  }
  if (!parts.length) return chunk;
  parts.push(chunk.subarray(copied));
  return Buffer.concat(parts, outLength + len - copied);
}

interface DataStreamLike {
  inByteCount: number;
  outByteCount: number;
  lastByte: number | false;
  /** The latest chunk, pushed with the next one or with the end of the data (fastFlush). */
  held?: Buffer | null;
  push(chunk: Buffer): boolean;
}
type Transform = (this: DataStreamLike, chunk: Buffer | string, encoding: string, done: () => void) => void;
type Flush = (this: DataStreamLike, done: () => void) => void;

function fastTransform(this: DataStreamLike, chunk: Buffer | string, _encoding: string, done: () => void): void {
  if (!chunk || !chunk.length) return done();
  const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
  this.inByteCount += buf.length;
  if (this.held) {
    this.outByteCount += this.held.length;
    this.push(this.held);
  }
  this.held = stuffChunk(buf, this.lastByte);
  this.lastByte = buf[buf.length - 1];
  done();
}

// The end-of-data line goes out with the last chunk: one socket write per message body instead of
// two (each loopback write wakes the server; ~2% of a delivery worker's CPU).
function fastFlush(this: DataStreamLike, done: () => void): void {
  const tail = Buffer.from(this.lastByte === LF ? ".\r\n" : this.lastByte === CR ? "\n.\r\n" : "\r\n.\r\n");
  const out = this.held ? Buffer.concat([this.held, tail]) : tail;
  this.held = null;
  this.outByteCount += out.length;
  this.push(out);
  done();
}

// Inputs where the rules differ from one another; each is also split at every position.
const SELF_TEST = [".a\r\n.b\n.c\r.d\r\r\n\n..\r\n", "\r.\r\n.\n\r\n\r", "x\n\n.\r\r.", ".", "\n", "\r", "ab", ""];

/** The bytes a transform and flush push for these chunks (null when their byte counts are off). */
export function run(transform: Transform, flush: Flush, chunks: Buffer[]): Buffer | null {
  const out: Buffer[] = [];
  const state: DataStreamLike = { inByteCount: 0, outByteCount: 0, lastByte: false, push: (c) => out.push(Buffer.from(c)) > 0 };
  for (const c of chunks) transform.call(state, c, "buffer", () => {});
  flush.call(state, () => {});
  const bytes = Buffer.concat(out);
  return state.outByteCount === bytes.length ? bytes : null;
}

/** True when the fast transform and flush give nodemailer's output for every self-test input and split. */
export function agreesWith(original: { _transform: Transform; _flush: Flush }): boolean {
  for (const text of SELF_TEST) {
    const whole = Buffer.from(text);
    for (let cut = 0; cut <= whole.length; cut++) {
      const chunks = [whole.subarray(0, cut), whole.subarray(cut)];
      const theirs = run(original._transform, original._flush, chunks);
      const ours = run(fastTransform, fastFlush, chunks);
      if (!theirs || !ours || !theirs.equals(ours)) return false;
    }
  }
  return true;
}

export type DataStreamClass = { new (): import("node:stream").Transform; prototype: { _transform: Transform; _flush: Flush } };

/**
 * nodemailer's DataStream, loaded by its file (the package's exports do not list it): the same module
 * instance nodemailer's SMTP connection imports. Fails loudly if nodemailer's layout changed.
 */
export async function nodemailerDataStream(): Promise<DataStreamClass> {
  const root = dirname(dirname(dirname(createRequire(import.meta.url).resolve("nodemailer"))));
  const file = join(root, "dist", "esm", "smtp-connection", "data-stream.js");
  return ((await import(pathToFileURL(file).href)) as { default: DataStreamClass }).default;
}

let installed: Promise<boolean> | null = null;

/**
 * Replaces nodemailer's DataStream transform and flush with the fast ones, once per process, if they
 * agree. Resolves to whether it did.
 */
export function installFastDotStuffing(): Promise<boolean> {
  installed ??= (async () => {
    const proto = (await nodemailerDataStream()).prototype;
    if (proto._transform === fastTransform) return true;
    if (!agreesWith({ _transform: proto._transform, _flush: proto._flush })) return false;
    proto._transform = fastTransform;
    proto._flush = fastFlush;
    return true;
  })();
  return installed;
}
