-- Message status becomes an enum: existing rows are converted in place (the index on
-- (status, send_at) is rebuilt by the ALTER), no row is lost.
CREATE TYPE "MessageStatus" AS ENUM ('queued', 'sending', 'sent', 'failed', 'bounced', 'suppressed');

ALTER TABLE "messages" ALTER COLUMN "status" TYPE "MessageStatus" USING "status"::"MessageStatus";
