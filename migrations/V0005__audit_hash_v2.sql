-- Audit row hash, format 2: the hash also covers db_role (the session user
-- that appended the row) and the format number itself, so a superuser can no
-- longer change db_role undetected.
--
-- Rows already in the chain keep the format they were hashed with: the new
-- column hash_version is 1 for them (V0001's audit.row_hash) and 2 for every
-- row audit.append writes from now on. Verifiers compute each row by its own
-- format; changing a row's hash_version is itself a hash mismatch, because no
-- row matches its stored row_hash under the other format.

ALTER TABLE audit.event ADD COLUMN hash_version smallint NOT NULL DEFAULT 1;
ALTER TABLE audit.event ALTER COLUMN hash_version SET DEFAULT 2;
ALTER TABLE audit.event ADD CONSTRAINT audit_event_hash_version_known CHECK (hash_version IN (1, 2));

-- row_hash (format 2) = sha256("2" | prev_hash | seq | occurred_at(UTC, microseconds) | actor | db_role | action |
--                             object_type | object_id | sha256(payload)), fields joined with a newline, text
--                             fields after length prefixes (characters), as in format 1.
CREATE FUNCTION audit.row_hash_v2(p_prev text, p_seq bigint, p_at timestamptz, p_actor text, p_db_role text,
                                  p_action text, p_otype text, p_oid text, p_payload text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(sha256(convert_to(
    '2' || E'\n' || p_prev || E'\n' || p_seq::text || E'\n' ||
    to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || E'\n' ||
    length(p_actor) || ':' || p_actor || E'\n' || length(p_db_role) || ':' || p_db_role || E'\n' ||
    length(p_action) || ':' || p_action || E'\n' ||
    length(p_otype) || ':' || p_otype || E'\n' || length(p_oid) || ':' || p_oid || E'\n' ||
    encode(sha256(convert_to(p_payload, 'UTF8')), 'hex'), 'UTF8')), 'hex')
$$;

-- Same signature, owner and grants as V0001's; only the hash format changes.
CREATE OR REPLACE FUNCTION audit.append(p_actor text, p_action text, p_otype text, p_oid text, p_payload text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
DECLARE
  head audit.chain_head;
  at timestamptz := date_trunc('microseconds', clock_timestamp());
  who text := session_user;
  h text;
BEGIN
  SELECT * INTO head FROM audit.chain_head WHERE chain = 'main' FOR UPDATE;
  h := audit.row_hash_v2(head.last_hash, head.last_seq + 1, at, p_actor, who, p_action, p_otype, p_oid, p_payload);
  INSERT INTO audit.event (chain, seq, occurred_at, actor, db_role, action, object_type, object_id, payload,
                           prev_hash, row_hash, hash_version)
  VALUES ('main', head.last_seq + 1, at, p_actor, who, p_action, p_otype, p_oid, p_payload,
          head.last_hash, h, 2);
  UPDATE audit.chain_head SET last_seq = head.last_seq + 1, last_hash = h WHERE chain = 'main';
  RETURN head.last_seq + 1;
END $$;
