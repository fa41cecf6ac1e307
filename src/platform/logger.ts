import { pino } from "pino";
import { config } from "./config.ts";

// PII and secrets never reach the logs: these paths are censored wherever they appear.
export const logger = pino({
  level: config.NODE_ENV === "test" ? (config.LOG_LEVEL === "info" ? "warn" : config.LOG_LEVEL) : config.LOG_LEVEL,
  base: { pid: process.pid },
  redact: {
    paths: [
      "email", "*.email", "to", "*.to", "authorization", "*.authorization", "headers.authorization",
      "secret", "*.secret", "token", "*.token", "ip", "*.ip", "password", "*.password",
    ],
    censor: "[redacted]",
  },
});
