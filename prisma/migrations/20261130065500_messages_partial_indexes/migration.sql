-- The messages table's unique and sent_at indexes hold only the rows they are for. Each status change
-- of a message writes a new entry into every index of the table (status is indexed, so no update is
-- HOT): the claim and the outcome, twice per message. Most messages have no idempotency key, no
-- campaign (the send API) or no sent_at yet (claimed, suppressed), and those NULL entries were written
-- for nothing. Uniqueness is unchanged (NULLs never conflicted), the inserts use ON CONFLICT DO
-- NOTHING without a target, which any unique index serves, and lookups by key imply IS NOT NULL.
-- prisma/schema.prisma keeps @unique, @@unique and @@index for the client: these indexes are partial.
DROP INDEX "messages_idempotency_key_key";
CREATE UNIQUE INDEX "messages_idempotency_key_key" ON "messages"("idempotency_key") WHERE "idempotency_key" IS NOT NULL;
DROP INDEX "messages_campaign_id_customer_id_key";
CREATE UNIQUE INDEX "messages_campaign_id_customer_id_key" ON "messages"("campaign_id", "customer_id") WHERE "campaign_id" IS NOT NULL;
DROP INDEX "messages_sent_at_idx";
CREATE INDEX "messages_sent_at_idx" ON "messages"("sent_at") WHERE "sent_at" IS NOT NULL;
