// Imported first by test/webhooks.test.ts (before any application module reads the config): the
// local receiver lives on 127.0.0.1, and retries are spaced by 300 ms instead of minutes.
Object.assign(process.env, {
  WEBHOOK_ALLOW_PRIVATE: "true",
  WEBHOOK_RETRY_SCHEDULE_MS: "0,300,300,300",
  WEBHOOK_TIMEOUT_MS: "3000",
});
