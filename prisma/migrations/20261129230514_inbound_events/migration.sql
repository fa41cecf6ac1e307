-- CreateTable
CREATE TABLE "inbound_events" (
    "id" BIGSERIAL NOT NULL,
    "report_key" TEXT NOT NULL,
    "seq" INTEGER NOT NULL DEFAULT 0,
    "type" TEXT NOT NULL,
    "channel" TEXT NOT NULL,
    "customer_id" UUID,
    "message_id" UUID,
    "address_hash" TEXT,
    "code" TEXT,
    "detail" TEXT,
    "body_enc" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "inbound_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "inbound_events_customer_id_created_at_idx" ON "inbound_events"("customer_id", "created_at");

-- CreateIndex
CREATE INDEX "inbound_events_message_id_idx" ON "inbound_events"("message_id");

-- CreateIndex
CREATE INDEX "inbound_events_address_hash_type_created_at_idx" ON "inbound_events"("address_hash", "type", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "inbound_events_report_key_seq_key" ON "inbound_events"("report_key", "seq");

