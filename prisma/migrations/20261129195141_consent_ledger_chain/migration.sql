-- AlterTable
ALTER TABLE "consent_events" ADD COLUMN     "hash" BYTEA,
ADD COLUMN     "prev_hash" BYTEA;

-- CreateIndex
CREATE INDEX "consent_events_customer_id_id_idx" ON "consent_events"("customer_id", "id");


-- Hand-written. Every row written from now on carries its 32-byte chain hash. NOT VALID: rows
-- written before the chain existed are not checked (and not rewritten: the ledger is append-only,
-- and a migration that certified them would vouch for rows nobody verified). A customer's chain
-- starts at their first hashed row.
ALTER TABLE "consent_events" ADD CONSTRAINT "consent_events_hash_present" CHECK ("hash" IS NOT NULL AND octet_length("hash") = 32 AND ("prev_hash" IS NULL OR octet_length("prev_hash") = 32)) NOT VALID;
