-- Driftwatch core schema: versioned golden sets, targets, runs, results,
-- scores, the audit chain and least-privilege roles.
-- Immutable definition tables are pinned by foreign keys from append-only
-- fact tables; triggers (not just the CLI) refuse edits.

CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS run;
CREATE SCHEMA IF NOT EXISTS gov;
CREATE SCHEMA IF NOT EXISTS audit;
CREATE SCHEMA IF NOT EXISTS report;

-- Roles are cluster-wide: create them once, grant per database.
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['dw_migrator','dw_runner','dw_reviewer','dw_reader','dw_auditor'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    END IF;
  END LOOP;
END $$;

-- Shared guard: append-only / immutable tables.
CREATE FUNCTION core.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'driftwatch: % on %.% is not allowed: rows are immutable once written',
    TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'raise_exception', HINT = 'publish a new version instead';
END $$;

CREATE TABLE core.golden_set (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name        text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$'),
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE core.golden_set_version (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  golden_set_id    bigint NOT NULL REFERENCES core.golden_set,
  version          int NOT NULL CHECK (version >= 1),
  manifest_sha256  text NOT NULL CHECK (manifest_sha256 ~ '^[0-9a-f]{64}$'),
  case_count       int NOT NULL CHECK (case_count > 0),
  description      text NOT NULL DEFAULT '',
  source_format    text NOT NULL CHECK (source_format IN ('native','jsonl','promptfoo')),
  source_file      text NOT NULL DEFAULT '',
  published_by     text NOT NULL,
  published_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (golden_set_id, version),
  UNIQUE (golden_set_id, manifest_sha256)
);

CREATE TABLE core.golden_set_case (
  golden_set_version_id  bigint NOT NULL REFERENCES core.golden_set_version,
  case_id                text NOT NULL,
  ordinal                int NOT NULL,
  content_sha256         text NOT NULL CHECK (content_sha256 ~ '^[0-9a-f]{64}$'),
  body                   jsonb NOT NULL,
  tags                   text[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (golden_set_version_id, case_id)
);
CREATE INDEX golden_set_case_content_idx ON core.golden_set_case (content_sha256);

CREATE TABLE core.target_version (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name          text NOT NULL,
  version_hash  text NOT NULL CHECK (version_hash ~ '^[0-9a-f]{64}$'),
  provider      text NOT NULL,
  model         text NOT NULL DEFAULT '',
  spec          jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (name, version_hash)
);

CREATE TABLE core.scorer_version (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name          text NOT NULL,
  version_hash  text NOT NULL CHECK (version_hash ~ '^[0-9a-f]{64}$'),
  spec          jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (name, version_hash)
);

CREATE TRIGGER golden_set_version_immutable BEFORE UPDATE OR DELETE ON core.golden_set_version
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();
CREATE TRIGGER golden_set_case_immutable BEFORE UPDATE OR DELETE ON core.golden_set_case
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();
CREATE TRIGGER target_version_immutable BEFORE UPDATE OR DELETE ON core.target_version
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();
CREATE TRIGGER scorer_version_immutable BEFORE UPDATE OR DELETE ON core.scorer_version
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();
CREATE TRIGGER golden_set_version_no_truncate BEFORE TRUNCATE ON core.golden_set_version
  FOR EACH STATEMENT EXECUTE FUNCTION core.refuse_change();
CREATE TRIGGER golden_set_case_no_truncate BEFORE TRUNCATE ON core.golden_set_case
  FOR EACH STATEMENT EXECUTE FUNCTION core.refuse_change();

-- A case row may only be added while its version is being created (same
-- transaction as the version row): a published version never changes.
CREATE FUNCTION core.check_case_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM core.golden_set_version v
                  WHERE v.id = NEW.golden_set_version_id
                    AND v.xmin::text = (pg_current_xact_id()::text::bigint % 4294967296)::text) THEN
    RAISE EXCEPTION 'driftwatch: golden-set version % is already published; cases cannot be added',
      NEW.golden_set_version_id USING ERRCODE = 'raise_exception';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER golden_set_case_insert_guard BEFORE INSERT ON core.golden_set_case
  FOR EACH ROW EXECUTE FUNCTION core.check_case_insert();

-- Runs and their results.
CREATE TABLE run.run (
  id                     uuid PRIMARY KEY,
  golden_set_version_id  bigint NOT NULL REFERENCES core.golden_set_version,
  target_version_id      bigint NOT NULL REFERENCES core.target_version,
  scorer_version_id      bigint REFERENCES core.scorer_version,
  status                 text NOT NULL DEFAULT 'running'
                         CHECK (status IN ('queued','running','scored','compared','done','failed','cancelled')),
  trigger                text NOT NULL DEFAULT 'manual' CHECK (trigger IN ('manual','schedule','ci','review','api')),
  schedule_name          text,
  repeats                int NOT NULL CHECK (repeats BETWEEN 1 AND 100),
  run_salt               text NOT NULL,
  requested_by           text NOT NULL,
  runner_build           text NOT NULL,
  runner_host            text NOT NULL,
  settings               jsonb NOT NULL DEFAULT '{}',
  created_at             timestamptz NOT NULL DEFAULT now(),
  started_at             timestamptz,
  finished_at            timestamptz,
  summary                jsonb,
  error                  text,
  CHECK (status NOT IN ('done','failed','cancelled') OR finished_at IS NOT NULL)
);
CREATE INDEX run_by_set_target_idx ON run.run (golden_set_version_id, target_version_id, created_at DESC);

CREATE TABLE run.result (
  run_id           uuid NOT NULL REFERENCES run.run,
  case_id          text NOT NULL,
  repeat           int NOT NULL CHECK (repeat >= 0),
  outcome          text NOT NULL CHECK (outcome IN ('pass','fail','refusal','format_error','truncated','empty',
                                                     'timeout','rate_limited','transport_error','provider_error',
                                                     'budget_exceeded')),
  score            double precision,
  output           text,
  request_sha256   text,
  latency_ms       double precision,
  input_tokens     int,
  output_tokens    int,
  cost_usd         double precision,
  attempts         int NOT NULL DEFAULT 1,
  provider_model   text,
  fingerprint      text,
  finish_reason    text,
  response_id      text,
  error_detail     text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, case_id, repeat)
);

CREATE TABLE run.score (
  run_id     uuid NOT NULL,
  case_id    text NOT NULL,
  repeat     int NOT NULL,
  scorer     text NOT NULL,
  value      double precision,
  passed     boolean,
  weight     double precision NOT NULL DEFAULT 1,
  reason     text,
  PRIMARY KEY (run_id, case_id, repeat, scorer),
  FOREIGN KEY (run_id, case_id, repeat) REFERENCES run.result
);

CREATE TRIGGER result_append_only BEFORE UPDATE OR DELETE ON run.result
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();
CREATE TRIGGER score_append_only BEFORE UPDATE OR DELETE ON run.score
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();
CREATE TRIGGER result_no_truncate BEFORE TRUNCATE ON run.result
  FOR EACH STATEMENT EXECUTE FUNCTION core.refuse_change();
CREATE TRIGGER score_no_truncate BEFORE TRUNCATE ON run.score
  FOR EACH STATEMENT EXECUTE FUNCTION core.refuse_change();

-- Results may only be written while their run is running.
CREATE FUNCTION run.check_result_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM run.run r WHERE r.id = NEW.run_id AND r.status = 'running') THEN
    RAISE EXCEPTION 'driftwatch: run % is not running; its results are final', NEW.run_id
      USING ERRCODE = 'raise_exception';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER result_insert_guard BEFORE INSERT ON run.result
  FOR EACH ROW EXECUTE FUNCTION run.check_result_insert();

-- Audit: one hash chain, gapless sequence, written only through audit.append.
CREATE TABLE audit.chain_head (
  chain     text PRIMARY KEY,
  last_seq  bigint NOT NULL,
  last_hash text NOT NULL
);
INSERT INTO audit.chain_head VALUES ('main', 0, repeat('0', 64));

CREATE TABLE audit.event (
  chain        text NOT NULL DEFAULT 'main',
  seq          bigint NOT NULL,
  occurred_at  timestamptz NOT NULL,
  actor        text NOT NULL,
  db_role      text NOT NULL,
  action       text NOT NULL,
  object_type  text NOT NULL,
  object_id    text NOT NULL,
  payload      text NOT NULL,          -- canonical JSON text; the hash covers these bytes
  prev_hash    text NOT NULL,
  row_hash     text NOT NULL UNIQUE,
  PRIMARY KEY (chain, seq)
);
CREATE INDEX audit_event_object_idx ON audit.event (object_type, object_id);

CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit.event
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit.event
  FOR EACH STATEMENT EXECUTE FUNCTION core.refuse_change();

-- row_hash = sha256(prev_hash | seq | occurred_at(UTC, microseconds) | actor | action | object_type |
--                   object_id | sha256(payload)), fields joined with a newline after length prefixes.
CREATE FUNCTION audit.row_hash(p_prev text, p_seq bigint, p_at timestamptz, p_actor text, p_action text,
                               p_otype text, p_oid text, p_payload text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(sha256(convert_to(
    p_prev || E'\n' || p_seq::text || E'\n' ||
    to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || E'\n' ||
    length(p_actor) || ':' || p_actor || E'\n' || length(p_action) || ':' || p_action || E'\n' ||
    length(p_otype) || ':' || p_otype || E'\n' || length(p_oid) || ':' || p_oid || E'\n' ||
    encode(sha256(convert_to(p_payload, 'UTF8')), 'hex'), 'UTF8')), 'hex')
$$;

CREATE FUNCTION audit.append(p_actor text, p_action text, p_otype text, p_oid text, p_payload text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
DECLARE
  head audit.chain_head;
  at timestamptz := date_trunc('microseconds', clock_timestamp());
  h text;
BEGIN
  SELECT * INTO head FROM audit.chain_head WHERE chain = 'main' FOR UPDATE;
  h := audit.row_hash(head.last_hash, head.last_seq + 1, at, p_actor, p_action, p_otype, p_oid, p_payload);
  INSERT INTO audit.event (chain, seq, occurred_at, actor, db_role, action, object_type, object_id, payload,
                           prev_hash, row_hash)
  VALUES ('main', head.last_seq + 1, at, p_actor, session_user, p_action, p_otype, p_oid, p_payload,
          head.last_hash, h);
  UPDATE audit.chain_head SET last_seq = head.last_seq + 1, last_hash = h WHERE chain = 'main';
  RETURN head.last_seq + 1;
END $$;

-- Read-only views for Grafana and reports.
CREATE VIEW report.golden_set_versions AS
  SELECT g.name AS golden_set, v.version, v.manifest_sha256, v.case_count, v.source_format, v.published_by,
         v.published_at
  FROM core.golden_set_version v JOIN core.golden_set g ON g.id = v.golden_set_id;

CREATE VIEW report.run_summary AS
  SELECT r.id AS run_id, g.name AS golden_set, v.version AS golden_set_version, t.name AS target,
         t.model, t.provider, r.status, r.trigger, r.repeats, r.created_at, r.started_at, r.finished_at,
         (r.summary->>'pass_rate')::double precision AS pass_rate,
         (r.summary->>'cost_usd')::double precision AS cost_usd,
         (r.summary->>'results')::int AS results,
         (r.summary->>'infra_failures')::int AS infra_failures
  FROM run.run r
  JOIN core.golden_set_version v ON v.id = r.golden_set_version_id
  JOIN core.golden_set g ON g.id = v.golden_set_id
  JOIN core.target_version t ON t.id = r.target_version_id;

-- Privileges: nothing for PUBLIC; each role gets exactly its job.
REVOKE ALL ON ALL TABLES IN SCHEMA core, run, gov, audit, report FROM PUBLIC;
REVOKE ALL ON FUNCTION audit.append(text, text, text, text, text) FROM PUBLIC;
GRANT USAGE ON SCHEMA core, run, audit, report TO dw_runner, dw_reviewer, dw_auditor;
GRANT USAGE ON SCHEMA report TO dw_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA core, run TO dw_runner, dw_reviewer, dw_auditor;
GRANT INSERT ON core.golden_set, core.golden_set_version, core.golden_set_case, core.target_version,
  core.scorer_version TO dw_runner;
GRANT INSERT ON run.run, run.result, run.score TO dw_runner;
GRANT UPDATE (status, started_at, finished_at, summary, error) ON run.run TO dw_runner;
GRANT EXECUTE ON FUNCTION audit.append(text, text, text, text, text) TO dw_runner, dw_reviewer;
GRANT SELECT ON ALL TABLES IN SCHEMA audit TO dw_auditor;
GRANT SELECT ON ALL TABLES IN SCHEMA report TO dw_reader, dw_reviewer, dw_auditor, dw_runner;
