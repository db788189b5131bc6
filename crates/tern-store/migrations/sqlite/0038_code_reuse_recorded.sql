-- A replay of a used authorization code by its own client is recorded on
-- the code (epoch second), so the exchange that redeemed it revokes its
-- grant even when the replay came before that grant was written.
ALTER TABLE authorization_codes ADD COLUMN reused_at BIGINT;
