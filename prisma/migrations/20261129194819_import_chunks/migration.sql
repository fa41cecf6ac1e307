-- AlterTable
ALTER TABLE "imports" ADD COLUMN     "erased" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- CreateTable
CREATE TABLE "import_chunks" (
    "import_id" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "data" BYTEA NOT NULL,

    CONSTRAINT "import_chunks_pkey" PRIMARY KEY ("import_id","seq")
);

-- AddForeignKey
ALTER TABLE "import_chunks" ADD CONSTRAINT "import_chunks_import_id_fkey" FOREIGN KEY ("import_id") REFERENCES "imports"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Hand-written: uploads are stored as received and read once by the job. Compressing them (pglz)
-- would cost PostgreSQL CPU next to the API on the same machine for little gain.
ALTER TABLE "import_chunks" ALTER COLUMN "data" SET STORAGE EXTERNAL;
