import { describe, expect, it } from "vitest";
import { isConnectionError } from "./errors.ts";

describe("isConnectionError", () => {
  it("when PostgreSQL or Redis cannot be reached, then the error is recognised however it is wrapped", () => {
    expect(isConnectionError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }))).toBe(true);
    expect(isConnectionError({ code: "57P01", message: "terminating connection due to administrator command" })).toBe(true);
    expect(isConnectionError({ code: "08006", message: "connection failure" })).toBe(true);
    expect(isConnectionError({ code: "P1001", message: "Can't reach database server" })).toBe(true);
    expect(isConnectionError({ code: "P1017", message: "Server has closed the connection." })).toBe(true);
    expect(isConnectionError(new Error("x", { cause: { code: "ECONNRESET" } }))).toBe(true);
    expect(isConnectionError({ name: "DriverAdapterError", cause: { kind: "DatabaseNotReachable" } })).toBe(true);
    expect(isConnectionError({ name: "MaxRetriesPerRequestError", message: "Reached the max retries per request limit" })).toBe(true);
    expect(isConnectionError(new Error("Connection is closed."))).toBe(true);
    expect(isConnectionError(Object.assign(new AggregateError([Object.assign(new Error("c"), { code: "ECONNREFUSED" })]), {}))).toBe(true);
  });

  it("when the error is about the request or the code, then it is not a connection error", () => {
    expect(isConnectionError({ code: "23505", message: "duplicate key value" })).toBe(false);
    expect(isConnectionError({ code: "P2002" })).toBe(false);
    expect(isConnectionError(new TypeError("undefined is not a function"))).toBe(false);
    expect(isConnectionError(null)).toBe(false);
    expect(isConnectionError("ECONNREFUSED")).toBe(false);
  });
});
