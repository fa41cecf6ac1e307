-- CreateEnum
CREATE TYPE "Cadence" AS ENUM ('any', 'weekly', 'monthly');

-- AlterTable
ALTER TABLE "customers" ADD COLUMN     "cadence" "Cadence" NOT NULL DEFAULT 'any',
ADD COLUMN     "paused_until" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "consent_events" ADD COLUMN     "value" TEXT,
ALTER COLUMN "topic_id" DROP NOT NULL,
ALTER COLUMN "status" DROP NOT NULL;

-- CreateTable
CREATE TABLE "feedback" (
    "id" UUID NOT NULL,
    "customer_id" UUID NOT NULL,
    "source" TEXT NOT NULL,
    "reason" TEXT,
    "comment_enc" TEXT,
    "topic_id" UUID,
    "message_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "feedback_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "feedback_customer_id_created_at_idx" ON "feedback"("customer_id", "created_at");

-- CreateIndex
CREATE INDEX "feedback_created_at_id_idx" ON "feedback"("created_at", "id");

-- AddForeignKey
ALTER TABLE "feedback" ADD CONSTRAINT "feedback_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;


-- Hand-written. A ledger row is either about a topic (with its resulting status) or customer-wide
-- (cadence_changed, paused, resumed: no topic, no status, a value). NOT VALID: old rows are untouched.
ALTER TABLE "consent_events" ADD CONSTRAINT "consent_events_topic_or_customer_wide" CHECK (("topic_id" IS NULL) = ("status" IS NULL)) NOT VALID;
