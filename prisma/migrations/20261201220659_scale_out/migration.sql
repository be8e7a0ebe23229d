-- CreateTable
CREATE TABLE "Worker" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "host" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "provider" TEXT NOT NULL,
    "packs" TEXT NOT NULL,
    "capacity" INTEGER NOT NULL,
    "activeRuns" INTEGER NOT NULL DEFAULT 0,
    "startedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "heartbeatAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "Artifact" (
    "key" TEXT NOT NULL PRIMARY KEY,
    "contentType" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "bytes" BLOB NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Run" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "status" TEXT NOT NULL,
    "task" TEXT NOT NULL,
    "sampler" TEXT NOT NULL,
    "params" TEXT NOT NULL,
    "seed" BIGINT NOT NULL,
    "totalSteps" INTEGER NOT NULL,
    "lastSeq" INTEGER NOT NULL DEFAULT 0,
    "stepsDone" INTEGER NOT NULL DEFAULT 0,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "cancelRequested" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" DATETIME,
    "finishedAt" DATETIME,
    "timings" TEXT,
    "errorCode" TEXT,
    "errorMessage" TEXT,
    "sourceKey" TEXT NOT NULL,
    "outputKey" TEXT,
    "metrics" TEXT,
    "leaseOwner" TEXT,
    "leaseExpiresAt" DATETIME,
    "checkpoint" BLOB,
    "checkpointStep" INTEGER NOT NULL DEFAULT 0
);
INSERT INTO "new_Run" ("attempts", "cancelRequested", "createdAt", "errorCode", "errorMessage", "finishedAt", "id", "lastSeq", "metrics", "outputKey", "params", "sampler", "seed", "sourceKey", "startedAt", "status", "stepsDone", "task", "timings", "totalSteps") SELECT "attempts", "cancelRequested", "createdAt", "errorCode", "errorMessage", "finishedAt", "id", "lastSeq", "metrics", "outputKey", "params", "sampler", "seed", "sourceKey", "startedAt", "status", "stepsDone", "task", "timings", "totalSteps" FROM "Run";
DROP TABLE "Run";
ALTER TABLE "new_Run" RENAME TO "Run";
CREATE INDEX "Run_status_createdAt_idx" ON "Run"("status", "createdAt");
CREATE INDEX "Run_status_leaseExpiresAt_idx" ON "Run"("status", "leaseExpiresAt");
CREATE INDEX "Run_task_createdAt_idx" ON "Run"("task", "createdAt");
CREATE INDEX "Run_createdAt_idx" ON "Run"("createdAt");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "Worker_heartbeatAt_idx" ON "Worker"("heartbeatAt");
