// Slow clients (issue 9, finding 9): a connection that trickles its headers or its body is dropped
// after the configured time, and other clients are served meanwhile. Short limits for the test.
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, startHarness, type Harness } from "./support/harness.ts";

let h: Harness;
const HEADERS_TIMEOUT = 1_000;
const REQUEST_TIMEOUT = 2_000;
const KEEP_ALIVE_TIMEOUT = 500;
beforeAll(async () => {
  h = await startHarness({
    workers: false,
    limits: { headersTimeoutMs: HEADERS_TIMEOUT, requestTimeoutMs: REQUEST_TIMEOUT, keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT },
  });
});
afterAll(() => h.close());

const port = () => Number(new URL(h.baseUrl).port);

/** Opens a socket and resolves with it once connected; `closedAt` resolves with the time it closed. */
async function open(): Promise<{ socket: Socket; closedAt: Promise<number>; received: () => string }> {
  const socket = connect(port(), "127.0.0.1");
  let data = "";
  socket.on("data", (d) => (data += d.toString()));
  socket.on("error", () => undefined);
  const closedAt = new Promise<number>((r) => socket.once("close", () => r(performance.now())));
  await new Promise<void>((r) => socket.once("connect", () => r()));
  return { socket, closedAt, received: () => data };
}

/** Writes `text` one byte per interval until the socket closes or the text is sent. */
async function trickle(socket: Socket, text: string, everyMs: number): Promise<void> {
  for (const ch of text) {
    if (socket.destroyed || socket.writableEnded) return;
    socket.write(ch);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

describe("slow clients", () => {
  it("when a client sends its headers one byte per second, then the connection is dropped within the headers timeout while others are served", async () => {
    const c = await open();
    const started = performance.now();
    const sending = trickle(c.socket, `GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ${"a".repeat(30)}\r\n\r\n`, 1_000);
    // Precondition: the connection is accepted and still open after a first byte or two.
    await new Promise((r) => setTimeout(r, 300));
    expect(c.socket.destroyed).toBe(false);
    // Meanwhile everyone else is served.
    expect((await fetch(`${h.baseUrl}/healthz`)).status).toBe(200);
    const closed = await Promise.race([c.closedAt, new Promise<number>((r) => setTimeout(() => r(Number.NaN), 8_000))]);
    expect(closed - started).toBeLessThan(HEADERS_TIMEOUT + 3_000);
    // Dropped before the headers were complete: the request was never answered as a 200.
    expect(c.received()).not.toMatch(/^HTTP\/1\.1 200/);
    c.socket.destroy();
    await sending;
  }, 15_000);

  it("when a client trickles its body, then the request is cut off after the request timeout", async () => {
    const c = await open();
    const started = performance.now();
    c.socket.write(`POST /v1/topics HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 60\r\nAuthorization: Bearer ${ADMIN_KEY}\r\n\r\n`);
    const sending = trickle(c.socket, `{"key":"slow","name":"${"x".repeat(40)}"}`, 700);
    await new Promise((r) => setTimeout(r, 300));
    expect(c.socket.destroyed).toBe(false);
    const closed = await Promise.race([c.closedAt, new Promise<number>((r) => setTimeout(() => r(Number.NaN), 10_000))]);
    expect(closed - started).toBeLessThan(REQUEST_TIMEOUT + 3_000);
    c.socket.destroy();
    await sending;
  }, 15_000);

  it("when a keep-alive connection idles after its response, then the server closes it after the keep-alive timeout", async () => {
    const c = await open();
    c.socket.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
    const answered = performance.now();
    await new Promise((r) => setTimeout(r, 200));
    expect(c.received()).toMatch(/^HTTP\/1\.1 200/);
    expect(c.socket.destroyed).toBe(false);
    const closed = await Promise.race([c.closedAt, new Promise<number>((r) => setTimeout(() => r(Number.NaN), 8_000))]);
    expect(closed - answered).toBeLessThan(KEEP_ALIVE_TIMEOUT + 2_500);
  }, 15_000);
});
