-- A checkpoint read (GET /api/v2/logs?from=…) must never skip an event.
-- `seq` is taken at insert, but transactions commit in any order: a reader
-- could see seq 61 before seq 60 committed, read on from 61, and never see
-- 60. Each event now carries the id of the transaction that wrote it; a
-- checkpoint read returns only events of transactions below the horizon
-- of its snapshot (`pg_snapshot_xmin`: every transaction below it has
-- ended, so nothing can appear there any more), in (tx, seq) order.
--
-- Events written before this migration get 0 (a constant default is
-- stored once in the catalogue, not written into each row): they come
-- before every later event, in their seq order. New rows get the writing
-- transaction's id from the default, whatever statement inserts them.
ALTER TABLE logs ADD COLUMN tx xid8 NOT NULL DEFAULT '0'::xid8;
ALTER TABLE logs ALTER COLUMN tx SET DEFAULT pg_current_xact_id();
CREATE INDEX logs_tenant_tx ON logs (tenant_id, tx, seq);
