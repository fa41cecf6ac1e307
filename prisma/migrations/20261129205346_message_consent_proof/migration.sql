-- AlterTable
ALTER TABLE "messages" ADD COLUMN     "consent_event_id" BIGINT,
ADD COLUMN     "rendered_persona_key" TEXT,
ADD COLUMN     "rendered_variant" TEXT;

-- CreateIndex
CREATE INDEX "consent_events_customer_id_topic_id_id_idx" ON "consent_events"("customer_id", "topic_id", "id");

