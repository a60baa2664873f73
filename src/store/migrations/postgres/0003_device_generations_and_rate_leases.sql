-- A device registration's revocation generation: every revocation bumps it, and a
-- WARP session records the generation it was issued under, so a session from before a
-- revocation stays dead after an un-revoke (which does not bump it back), whatever the
-- nodes' clocks say.
ALTER TABLE devices ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN device_generation BIGINT;
-- Registrations revoked before (then, or at some time): their WARP sessions stay dead.
UPDATE devices SET generation = 1 WHERE revoked_at IS NOT NULL OR attributes LIKE '%sessions_revoked_through%';
UPDATE tokens SET device_generation = 0 WHERE kind = 'warp';
-- Rate-limit leases: how many hits the last statement on a window granted.
ALTER TABLE rate_windows ADD COLUMN granted BIGINT NOT NULL DEFAULT 0
