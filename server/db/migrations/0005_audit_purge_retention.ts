import { sql, type Kysely } from 'kysely';

/*
 * rmm_audit_purge refuses to delete entries younger than the org's retention period (orgs.
 * audit_retention_days, at least six years; the platform chain keeps the six-year default).
 * Without this the app role, through the definer function, could erase any part of a chain and
 * append a matching audit.purged entry: a compromised server could rewrite history. The day of
 * slack absorbs clock differences between the server (which computes `before`) and the database.
 * It also finds and deletes the purged prefix through the indexes rather than a scan of every org.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE OR REPLACE FUNCTION rmm_audit_purge(p_org uuid, p_before timestamptz)
    RETURNS TABLE (purged integer, checkpoint_seq bigint, checkpoint_hash text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DECLARE last_seq bigint; last_hash text; n integer; keep_days integer;
    BEGIN
      IF p_org IS DISTINCT FROM rmm_current_org() THEN
        RAISE EXCEPTION 'purge must run inside the org it purges' USING ERRCODE = 'insufficient_privilege';
      END IF;
      SELECT audit_retention_days INTO keep_days FROM orgs WHERE id = p_org;
      keep_days := COALESCE(keep_days, 2192);
      IF p_before IS NULL OR p_before > now() - make_interval(days => keep_days - 1) THEN
        RAISE EXCEPTION 'purge before % would delete entries younger than the retention period of % days', p_before, keep_days
          USING ERRCODE = 'insufficient_privilege';
      END IF;
      -- Only the prefix of the chain that is entirely older than p_before: it ends before the
      -- first entry that is not. An entry written later with a back-dated time (the app writes the
      -- time column) therefore cannot pull younger entries into the purge.
      -- org_id = p_org (not IS NOT DISTINCT FROM) so the indexes serve it on a large log.
      IF p_org IS NULL THEN
        SELECT min(seq) - 1 INTO last_seq FROM audit_log WHERE org_id IS NULL AND time >= p_before;
        IF last_seq IS NULL THEN SELECT max(seq) INTO last_seq FROM audit_log WHERE org_id IS NULL; END IF;
        SELECT hash INTO last_hash FROM audit_log WHERE org_id IS NULL AND seq = last_seq;
      ELSE
        SELECT min(seq) - 1 INTO last_seq FROM audit_log WHERE org_id = p_org AND time >= p_before;
        IF last_seq IS NULL THEN SELECT max(seq) INTO last_seq FROM audit_log WHERE org_id = p_org; END IF;
        SELECT hash INTO last_hash FROM audit_log WHERE org_id = p_org AND seq = last_seq;
      END IF;
      IF last_seq IS NULL OR last_hash IS NULL THEN
        RETURN QUERY SELECT 0, NULL::bigint, NULL::text;
        RETURN;
      END IF;
      PERFORM set_config('rmm.audit_purge', 'on', true);
      IF p_org IS NULL THEN
        DELETE FROM audit_log WHERE org_id IS NULL AND seq <= last_seq;
      ELSE
        DELETE FROM audit_log WHERE org_id = p_org AND seq <= last_seq;
      END IF;
      GET DIAGNOSTICS n = ROW_COUNT;
      PERFORM set_config('rmm.audit_purge', 'off', true);
      INSERT INTO audit_checkpoints (org_id, seq, hash, purged_before, purged_count) VALUES (p_org, last_seq, last_hash, p_before, n);
      RETURN QUERY SELECT n, last_seq, last_hash;
    END $$
  `.execute(db);
}
