-- AlterTable
ALTER TABLE "topics" ADD COLUMN     "track_clicks" BOOLEAN,
ADD COLUMN     "track_opens" BOOLEAN;

-- CreateTable
CREATE TABLE "engagement_events" (
    "id" BIGSERIAL NOT NULL,
    "message_id" UUID NOT NULL,
    "customer_id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "link_index" INTEGER,
    "method" TEXT NOT NULL,
    "machine" BOOLEAN NOT NULL,
    "rule" TEXT NOT NULL,
    "ip_enc" TEXT,
    "user_agent_enc" TEXT,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "engagement_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "message_engagement" (
    "message_id" UUID NOT NULL,
    "opens" INTEGER NOT NULL DEFAULT 0,
    "clicks" INTEGER NOT NULL DEFAULT 0,
    "machine_opens" INTEGER NOT NULL DEFAULT 0,
    "machine_clicks" INTEGER NOT NULL DEFAULT 0,
    "first_open_at" TIMESTAMPTZ(3),
    "first_click_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "message_engagement_pkey" PRIMARY KEY ("message_id")
);

-- CreateIndex
CREATE INDEX "engagement_events_message_id_at_idx" ON "engagement_events"("message_id", "at");

-- CreateIndex
CREATE INDEX "engagement_events_customer_id_at_idx" ON "engagement_events"("customer_id", "at");

-- AddForeignKey
ALTER TABLE "engagement_events" ADD CONSTRAINT "engagement_events_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "message_engagement" ADD CONSTRAINT "message_engagement_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;

