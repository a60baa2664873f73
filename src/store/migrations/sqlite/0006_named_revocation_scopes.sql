-- Revocation scopes besides a principal's sessions, named by the dialect that declares
-- them (Cloudflare's WARP sessions are one): each principal's current epoch per scope
-- and when it last moved. A principal without a row is at epoch 0, never revoked.
CREATE TABLE scope_epochs (
    tenant     TEXT NOT NULL REFERENCES tenants(account_id) ON DELETE CASCADE,
    principal  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    epoch      INTEGER NOT NULL,
    revoked_at INTEGER,
    PRIMARY KEY (tenant, principal, scope)
) WITHOUT ROWID;
INSERT INTO scope_epochs (tenant, principal, scope, epoch, revoked_at)
    SELECT tenant, id, 'warp', warp_epoch, warp_revoked_at FROM principals
    WHERE warp_epoch <> 0 OR warp_revoked_at IS NOT NULL;
ALTER TABLE principals DROP COLUMN warp_epoch;
ALTER TABLE principals DROP COLUMN warp_revoked_at;
-- The scope whose epoch a token was issued under: 'sessions', a named scope, or none
-- (an app's own token, which its credential governs).
ALTER TABLE tokens ADD COLUMN scope TEXT;
UPDATE tokens SET scope = 'sessions' WHERE kind IN ('user_oauth', 'sso', 'zak', 'access');
UPDATE tokens SET scope = 'warp' WHERE kind = 'warp';
