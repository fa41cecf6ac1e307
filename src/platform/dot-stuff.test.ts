// The fast DATA transparency against nodemailer's own DataStream: the same bytes for any input split
// into any chunks, and installed into the class nodemailer's SMTP connection uses.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { agreesWith, installFastDotStuffing, nodemailerDataStream, run, stuffChunk } from "./dot-stuff.ts";

const DataStream = await nodemailerDataStream();
const nodemailerTransform = DataStream.prototype._transform;
const nodemailerFlush = DataStream.prototype._flush;

async function pushes(chunks: Buffer[]): Promise<Buffer[]> {
  const s = new DataStream();
  const out: Buffer[] = [];
  s.on("data", (c: Buffer) => out.push(c));
  const done = new Promise((r) => s.on("end", r));
  for (const c of chunks) s.write(c);
  s.end();
  await done;
  return out;
}
const throughDataStream = async (chunks: Buffer[]) => Buffer.concat(await pushes(chunks));

// Bytes where the rules meet, so that random input hits every rule and every chunk boundary.
const byte = fc.constantFrom(0x0d, 0x0a, 0x2e, 0x61);
const chunked = fc.array(fc.array(byte, { maxLength: 12 }), { maxLength: 6 }).map((cs) => cs.map((c) => Buffer.from(c)));

describe("dot-stuff", () => {
  it("when a message passes in any chunks, then stuffChunk gives nodemailer's DataStream bytes", async () => {
    expect(DataStream.prototype._transform).toBe(nodemailerTransform); // precondition: still nodemailer's own
    await fc.assert(
      fc.asyncProperty(chunked, async (chunks) => {
        const expected = await throughDataStream(chunks);
        let last: number | false = false;
        const ours: Buffer[] = [];
        for (const c of chunks) {
          if (!c.length) continue;
          ours.push(stuffChunk(c, last));
          last = c[c.length - 1];
        }
        const tail = last === 0x0a ? ".\r\n" : last === 0x0d ? "\n.\r\n" : "\r\n.\r\n";
        expect(Buffer.concat([...ours, Buffer.from(tail)]).toString("latin1")).toBe(expected.toString("latin1"));
      }),
      { numRuns: 3000 },
    );
  });

  it("when a well-formed message has no dot at a line start, then the chunk is passed on as it is", () => {
    const chunk = Buffer.from("Subject: a\r\n\r\nline one\r\nline two\r\n");
    expect(stuffChunk(chunk, false)).toBe(chunk);
    expect(stuffChunk(Buffer.from("a\r\n.b\r\n"), false).toString()).toBe("a\r\n..b\r\n");
  });

  it("when installed, then nodemailer's DataStream uses it, writes the same bytes, and a one-chunk message goes out in one write", async () => {
    const input = [Buffer.from(".a\r\n.b\nc\r"), Buffer.from(".d\r\n")];
    const before = await throughDataStream(input);
    const message = [Buffer.from("Subject: x\r\n\r\n.body\r\n")];
    expect(await pushes(message)).toHaveLength(2); // precondition: nodemailer writes the end line apart
    expect(agreesWith({ _transform: nodemailerTransform, _flush: nodemailerFlush })).toBe(true);
    expect(await installFastDotStuffing()).toBe(true);
    expect(DataStream.prototype._transform).not.toBe(nodemailerTransform);
    expect(DataStream.prototype._flush).not.toBe(nodemailerFlush);
    expect((await throughDataStream(input)).toString()).toBe(before.toString());
    expect(before.toString()).toBe("..a\r\n..b\r\nc\r\n..d\r\n.\r\n");
    const merged = await pushes(message);
    expect(merged.map((c) => c.toString())).toEqual(["Subject: x\r\n\r\n..body\r\n.\r\n"]);
  });

  it("when many chunks pass through the installed stream, then the bytes are nodemailer's", async () => {
    expect(await installFastDotStuffing()).toBe(true);
    await fc.assert(
      fc.asyncProperty(chunked, async (chunks) => {
        const ours = await throughDataStream(chunks);
        expect(ours.toString("latin1")).toBe(run(nodemailerTransform, nodemailerFlush, chunks)!.toString("latin1"));
      }),
      { numRuns: 2000 },
    );
  });
});
