-- Driftwatch governance: reviews bound to a frozen evidence manifest,
-- append-only decisions, baseline and environment pointers that move only
-- through approved reviews, waiver roles and per-environment approval floors.
--
-- The rules live here, not in the CLI: BEFORE triggers check every row that
-- any role (including the table owner) writes, deferred constraint triggers
-- require an audit event for every governance record, and the only write
-- path granted to login roles is the SECURITY DEFINER functions below.

-- People are application principals ("alice"), compared case-insensitively.
CREATE DOMAIN gov.principal AS text
  CHECK (VALUE ~ '^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$');
CREATE DOMAIN gov.environment AS text
  CHECK (VALUE ~ '^[a-z][a-z0-9_-]{0,62}$');

-- Canonical JSON text, byte-identical to dw::CanonicalJson for objects,
-- arrays, strings, booleans, null and integers: keys sorted by code point, no
-- white space, minimal string escapes. Non-integer numbers print as
-- PostgreSQL numerics.
CREATE FUNCTION gov.canonical_json(v jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  out text;
BEGIN
  CASE jsonb_typeof(v)
    WHEN 'object' THEN
      SELECT '{' || coalesce(string_agg(to_jsonb(e.key)::text || ':' || gov.canonical_json(e.value), ','
                                        ORDER BY e.key COLLATE "C"), '') || '}'
        INTO out FROM jsonb_each(v) e;
    WHEN 'array' THEN
      SELECT '[' || coalesce(string_agg(gov.canonical_json(a.value), ',' ORDER BY a.ord), '') || ']'
        INTO out FROM jsonb_array_elements(v) WITH ORDINALITY a(value, ord);
    ELSE
      out := v::text;
  END CASE;
  RETURN out;
END $$;

CREATE FUNCTION gov.json_sha256(v jsonb) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT encode(sha256(convert_to(gov.canonical_json(v), 'UTF8')), 'hex')
$$;

CREATE FUNCTION gov.iso_utc(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- Every governance record must be explained by an audit event naming it
-- ("record": "gov.<table>/<key>[/<status>]") on the same object. Deferred to
-- commit so the writing function can append the event after the row.
-- Arguments: audit object_type, column holding the object id, key column.
CREATE FUNCTION gov.require_audit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  rec jsonb := to_jsonb(NEW);
  ref text := TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME || '/' || (rec ->> TG_ARGV[2]);
BEGIN
  IF TG_OP = 'UPDATE' THEN
    ref := ref || '/' || (rec ->> 'status');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM audit.event e
                  WHERE e.object_type = TG_ARGV[0] AND e.object_id = rec ->> TG_ARGV[1]
                    AND strpos(e.payload, '"record":"' || ref || '"') > 0) THEN
    RAISE EXCEPTION 'driftwatch: % of % has no audit event; governance records are written only through the gov.* functions',
      TG_OP, ref USING ERRCODE = 'raise_exception';
  END IF;
  RETURN NULL;
END $$;

-- Application roles. A role with may_waive lets its holders waive failed
-- evidence gates; the owner may add roles.
CREATE TABLE gov.app_role (
  name         text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
  may_waive    boolean NOT NULL,
  description  text NOT NULL DEFAULT ''
);
INSERT INTO gov.app_role (name, may_waive, description)
  VALUES ('release_manager', true, 'may waive failed evidence gates (with a reason and an expiry)');
CREATE TRIGGER app_role_no_delete BEFORE DELETE ON gov.app_role
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();

-- Grants and revocations of application roles; the latest event wins.
CREATE TABLE gov.role_event (
  seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  principal  gov.principal NOT NULL,
  app_role   text NOT NULL REFERENCES gov.app_role,
  action     text NOT NULL CHECK (action IN ('grant', 'revoke')),
  actor      gov.principal NOT NULL,
  reason     text NOT NULL DEFAULT '',
  at         timestamptz NOT NULL DEFAULT clock_timestamp(),
  CHECK (lower(actor) <> lower(principal))
);
CREATE INDEX role_event_principal_idx ON gov.role_event (lower(principal), app_role, seq DESC);

CREATE FUNCTION gov.holds_role(p_principal text, p_role text) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT coalesce((SELECT e.action = 'grant' FROM gov.role_event e
                    WHERE lower(e.principal) = lower(p_principal) AND e.app_role = p_role
                    ORDER BY e.seq DESC LIMIT 1), false)
$$;

CREATE FUNCTION gov.may_waive(p_principal text) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM gov.app_role r WHERE r.may_waive AND gov.holds_role(p_principal, r.name))
$$;

-- Minimum distinct approvers per environment (a floor: the configuration
-- may ask for more, never for fewer); the latest event wins, default 1.
CREATE TABLE gov.policy_event (
  seq            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  environment    gov.environment NOT NULL,
  min_approvals  int NOT NULL CHECK (min_approvals BETWEEN 1 AND 10),
  actor          gov.principal NOT NULL,
  at             timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX policy_event_environment_idx ON gov.policy_event (environment, seq DESC);

CREATE FUNCTION gov.approval_floor(p_environment text) RETURNS int
LANGUAGE sql STABLE AS $$
  SELECT coalesce((SELECT p.min_approvals FROM gov.policy_event p
                    WHERE p.environment = p_environment ORDER BY p.seq DESC LIMIT 1), 1)
$$;

-- Reviews. The evidence manifest is computed by the database from the state
-- of the cited rows and frozen with its sha256; decisions must cite that hash
-- and approvals recompute it.
CREATE TABLE gov.review (
  id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  golden_set_version_id  bigint NOT NULL REFERENCES core.golden_set_version,
  target_version_id      bigint NOT NULL REFERENCES core.target_version,
  run_id                 uuid NOT NULL REFERENCES run.run,
  environment            gov.environment NOT NULL,
  baseline_run_id        uuid REFERENCES run.run,
  requested_by           gov.principal NOT NULL,
  requested_at           timestamptz NOT NULL DEFAULT clock_timestamp(),
  min_approvals          int NOT NULL CHECK (min_approvals BETWEEN 1 AND 10),
  comparison             text,  -- the statistics module's JSON, hashed as these bytes
  comparison_sha256      text CHECK (comparison_sha256 ~ '^[0-9a-f]{64}$'),
  tool_build             text NOT NULL CHECK (length(tool_build) BETWEEN 1 AND 200),
  note                   text NOT NULL DEFAULT '',
  evidence               jsonb NOT NULL,
  evidence_sha256        text NOT NULL CHECK (evidence_sha256 ~ '^[0-9a-f]{64}$'),
  gates                  jsonb NOT NULL,
  gates_passed           boolean NOT NULL,
  status                 text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'approved', 'rejected')),
  closed_at              timestamptz,
  CHECK ((status = 'open') = (closed_at IS NULL)),
  CHECK ((comparison IS NULL) = (comparison_sha256 IS NULL)),
  CHECK (baseline_run_id IS DISTINCT FROM run_id)
);
CREATE INDEX review_status_idx ON gov.review (status, requested_at DESC);
CREATE INDEX review_run_idx ON gov.review (run_id);

CREATE TABLE gov.decision (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  review_id          uuid NOT NULL REFERENCES gov.review,
  reviewer           gov.principal NOT NULL,
  decision           text NOT NULL CHECK (decision IN ('approve', 'reject', 'waive')),
  reason             text NOT NULL DEFAULT '',
  waiver_expires_at  timestamptz,
  evidence_sha256    text NOT NULL,
  decided_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
  CHECK (decision = 'approve' OR length(btrim(reason)) > 0),
  CHECK ((decision = 'waive') = (waiver_expires_at IS NOT NULL))
);
-- One verdict (approve or reject) and at most one waiver per person.
CREATE UNIQUE INDEX decision_one_verdict_idx ON gov.decision (review_id, lower(reviewer))
  WHERE decision IN ('approve', 'reject');
CREATE UNIQUE INDEX decision_one_waiver_idx ON gov.decision (review_id, lower(reviewer))
  WHERE decision = 'waive';

-- Pointer history: 'baseline' per (golden set, target, environment) and
-- 'environment' (the deployed target version) per (target, environment).
-- The current pointer is the latest event.
CREATE TABLE gov.pointer_event (
  seq                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  pointer                     text NOT NULL CHECK (pointer IN ('baseline', 'environment')),
  target                      text NOT NULL,
  environment                 gov.environment NOT NULL,
  golden_set_id               bigint REFERENCES core.golden_set,
  run_id                      uuid NOT NULL REFERENCES run.run,
  target_version_id           bigint NOT NULL REFERENCES core.target_version,
  previous_run_id             uuid REFERENCES run.run,
  previous_target_version_id  bigint REFERENCES core.target_version,
  review_id                   uuid NOT NULL REFERENCES gov.review,
  approvers                   text[] NOT NULL,
  moved_at                    timestamptz NOT NULL DEFAULT clock_timestamp(),
  CHECK ((pointer = 'baseline') = (golden_set_id IS NOT NULL)),
  UNIQUE (review_id, pointer)
);
CREATE INDEX pointer_event_key_idx ON gov.pointer_event (target, environment, pointer, seq DESC);

CREATE FUNCTION gov.current_baseline_run(p_golden_set_id bigint, p_target text, p_environment text) RETURNS uuid
LANGUAGE sql STABLE AS $$
  SELECT p.run_id FROM gov.pointer_event p
   WHERE p.pointer = 'baseline' AND p.golden_set_id = p_golden_set_id AND p.target = p_target
     AND p.environment = p_environment
   ORDER BY p.seq DESC LIMIT 1
$$;

-- What a run's evidence consists of: its identity, configuration, status,
-- summary and digests of every result and score row.
CREATE FUNCTION gov.run_provenance(p_run uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', r.id::text,
    'status', r.status,
    'trigger', r.trigger,
    'golden_set_manifest_sha256', v.manifest_sha256,
    'target_version_hash', t.version_hash,
    'scorer', CASE WHEN s.id IS NULL THEN 'null'::jsonb
                   ELSE jsonb_build_object('name', s.name, 'version_hash', s.version_hash) END,
    'judge', coalesce(r.settings -> 'judge', 'null'::jsonb),
    'repeats', r.repeats,
    'run_salt', r.run_salt,
    'requested_by', r.requested_by,
    'runner_build', r.runner_build,
    'runner_host', r.runner_host,
    'settings_sha256', gov.json_sha256(r.settings),
    'summary_sha256', gov.json_sha256(r.summary),
    'error', r.error,
    'created_at', gov.iso_utc(r.created_at),
    'finished_at', gov.iso_utc(r.finished_at),
    'results', (SELECT count(*) FROM run.result x WHERE x.run_id = r.id),
    'results_sha256', (
      SELECT encode(sha256(convert_to(coalesce(string_agg(concat_ws(',',
               quote_literal(x.case_id), x.repeat, quote_literal(x.outcome), quote_nullable(x.score),
               quote_nullable(x.request_sha256), quote_nullable(encode(sha256(convert_to(x.output, 'UTF8')), 'hex')),
               quote_nullable(x.fingerprint), quote_nullable(x.provider_model), quote_nullable(x.finish_reason),
               quote_nullable(x.error_detail)),
             E'\n' ORDER BY x.case_id COLLATE "C", x.repeat), ''), 'UTF8')), 'hex')
        FROM run.result x WHERE x.run_id = r.id),
    'scores', (SELECT count(*) FROM run.score y WHERE y.run_id = r.id),
    'scores_sha256', (
      SELECT encode(sha256(convert_to(coalesce(string_agg(concat_ws(',',
               quote_literal(y.case_id), y.repeat, quote_literal(y.scorer), quote_nullable(y.value),
               quote_nullable(y.passed), y.weight, quote_nullable(y.reason)),
             E'\n' ORDER BY y.case_id COLLATE "C", y.repeat, y.scorer COLLATE "C"), ''), 'UTF8')), 'hex')
        FROM run.score y WHERE y.run_id = r.id))
  FROM run.run r
  JOIN core.golden_set_version v ON v.id = r.golden_set_version_id
  JOIN core.target_version t ON t.id = r.target_version_id
  LEFT JOIN core.scorer_version s ON s.id = r.scorer_version_id
  WHERE r.id = p_run
$$;

CREATE FUNCTION gov.evidence_manifest(p_golden_set_version_id bigint, p_target_version_id bigint, p_run uuid,
                                      p_baseline uuid, p_environment text, p_comparison_sha256 text,
                                      p_tool_build text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'schema', 'driftwatch.evidence/1',
    'environment', p_environment,
    'golden_set', jsonb_build_object('name', g.name, 'version', v.version, 'manifest_sha256', v.manifest_sha256,
                                     'case_count', v.case_count),
    'target', jsonb_build_object('name', t.name, 'version_hash', t.version_hash, 'provider', t.provider,
                                 'model', t.model, 'spec_sha256', gov.json_sha256(t.spec),
                                 'prompt_sha256', gov.json_sha256(jsonb_build_object(
                                     'prompt', coalesce(t.spec -> 'prompt', 'null'::jsonb),
                                     'messages', coalesce(t.spec -> 'messages', 'null'::jsonb)))),
    'candidate', gov.run_provenance(p_run),
    'baseline', coalesce(gov.run_provenance(p_baseline), 'null'::jsonb),
    'comparison_sha256', p_comparison_sha256,
    'tool_build', p_tool_build)
  FROM core.golden_set_version v
  JOIN core.golden_set g ON g.id = v.golden_set_id
  JOIN core.target_version t ON t.id = p_target_version_id
  WHERE v.id = p_golden_set_version_id
$$;

-- The manifest a review would have now (current run state, current baseline).
CREATE FUNCTION gov.current_evidence(p_review gov.review) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT gov.evidence_manifest(p_review.golden_set_version_id, p_review.target_version_id, p_review.run_id,
                               gov.current_baseline_run(v.golden_set_id, t.name, p_review.environment),
                               p_review.environment, p_review.comparison_sha256, p_review.tool_build)
  FROM core.golden_set_version v, core.target_version t
  WHERE v.id = p_review.golden_set_version_id AND t.id = p_review.target_version_id
$$;

-- Policy gates over the statistics module's comparison JSON (top-level
-- "verdict" and "severity"; "metrics" rows with "primary", "slice",
-- "verdict" and "non_inferiority"."status"). Without a baseline there is
-- nothing to compare and the first sign-off passes the gates.
CREATE FUNCTION gov.evaluate_gates(p_comparison jsonb, p_has_baseline boolean) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  prim jsonb;
  severity text;
  verdict text;
  ni text;
BEGIN
  IF NOT p_has_baseline THEN
    RETURN jsonb_build_array(jsonb_build_object(
      'gate', 'first_baseline', 'passed', true,
      'detail', 'no signed-off baseline for this golden set, target and environment yet'));
  END IF;
  severity := coalesce(p_comparison ->> 'severity', 'none');
  verdict := coalesce(p_comparison ->> 'verdict', 'insufficient_data');
  SELECT m INTO prim
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p_comparison -> 'metrics') = 'array'
                                   THEN p_comparison -> 'metrics' ELSE '[]'::jsonb END) m
   WHERE m -> 'primary' = 'true'::jsonb AND m ->> 'slice' = 'all'
   LIMIT 1;
  ni := prim -> 'non_inferiority' ->> 'status';
  RETURN jsonb_build_array(
    jsonb_build_object(
      'gate', 'no_critical_regression', 'passed', severity <> 'critical',
      'detail', format('comparison verdict %s, severity %s', verdict, severity)),
    jsonb_build_object(
      'gate', 'non_inferiority', 'passed', coalesce(ni = 'pass', false),
      'detail', CASE WHEN prim IS NULL THEN 'no primary metric on the "all" slice'
                     ELSE format('primary metric %s: non-inferiority %s', prim ->> 'metric', coalesce(ni, 'missing')) END),
    jsonb_build_object(
      'gate', 'adequately_powered',
      'passed', verdict <> 'insufficient_data' AND prim IS NOT NULL
                AND coalesce(prim ->> 'verdict', '') <> 'insufficient_data' AND coalesce(ni, '') <> 'underpowered',
      'detail', CASE WHEN prim IS NULL THEN format('comparison verdict %s; no primary metric', verdict)
                     ELSE format('comparison verdict %s; primary metric verdict %s, non-inferiority %s', verdict,
                                 coalesce(prim ->> 'verdict', 'missing'), coalesce(ni, 'missing')) END));
END $$;

CREATE FUNCTION gov.has_valid_waiver(p_review uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM gov.decision d
                  WHERE d.review_id = p_review AND d.decision = 'waive' AND d.waiver_expires_at > clock_timestamp())
$$;

CREATE FUNCTION gov.failed_gates(p_gates jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(string_agg(g ->> 'gate' || ' (' || (g ->> 'detail') || ')', ', '), '')
    FROM jsonb_array_elements(p_gates) g WHERE g -> 'passed' = 'false'::jsonb
$$;

-- A new review: validates the cited rows, fixes the baseline to the current
-- one, freezes the evidence and evaluates the gates. Supplied values for the
-- derived columns are ignored.
CREATE FUNCTION gov.review_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  r run.run;
  tv core.target_version;
  gsv core.golden_set_version;
  cmp jsonb;
BEGIN
  IF NEW.status <> 'open' OR NEW.closed_at IS NOT NULL THEN
    RAISE EXCEPTION 'driftwatch: a review starts open' USING ERRCODE = 'raise_exception';
  END IF;
  SELECT * INTO r FROM run.run WHERE id = NEW.run_id;
  SELECT * INTO gsv FROM core.golden_set_version WHERE id = NEW.golden_set_version_id;
  SELECT * INTO tv FROM core.target_version WHERE id = NEW.target_version_id;
  IF r.status IS DISTINCT FROM 'done' THEN
    RAISE EXCEPTION 'driftwatch: run % is %, not done; only a finished run can be reviewed', NEW.run_id, r.status
      USING ERRCODE = 'raise_exception';
  END IF;
  IF r.golden_set_version_id <> NEW.golden_set_version_id OR r.target_version_id <> NEW.target_version_id THEN
    RAISE EXCEPTION 'driftwatch: run % did not replay this golden-set version on this target version', NEW.run_id
      USING ERRCODE = 'raise_exception';
  END IF;
  NEW.requested_at := clock_timestamp();
  NEW.min_approvals := greatest(NEW.min_approvals, gov.approval_floor(NEW.environment));
  NEW.baseline_run_id := gov.current_baseline_run(gsv.golden_set_id, tv.name, NEW.environment);
  IF NEW.baseline_run_id = NEW.run_id THEN
    RAISE EXCEPTION 'driftwatch: run % is already the % baseline', NEW.run_id, NEW.environment
      USING ERRCODE = 'raise_exception';
  END IF;
  IF NEW.comparison IS NOT NULL THEN
    BEGIN
      cmp := NEW.comparison::jsonb;
    EXCEPTION WHEN others THEN
      RAISE EXCEPTION 'driftwatch: the comparison is not valid JSON' USING ERRCODE = 'invalid_parameter_value';
    END;
    IF jsonb_typeof(cmp) <> 'object' THEN
      RAISE EXCEPTION 'driftwatch: the comparison must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    NEW.comparison_sha256 := encode(sha256(convert_to(NEW.comparison, 'UTF8')), 'hex');
  ELSE
    NEW.comparison_sha256 := NULL;
  END IF;
  IF NEW.baseline_run_id IS NOT NULL AND cmp IS NULL THEN
    RAISE EXCEPTION 'driftwatch: a comparison of run % against the current baseline % is required',
      NEW.run_id, NEW.baseline_run_id USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NEW.baseline_run_id IS NULL AND cmp IS NOT NULL THEN
    RAISE EXCEPTION 'driftwatch: there is no baseline for % in %, so there is nothing the comparison can be against',
      tv.name, NEW.environment USING ERRCODE = 'invalid_parameter_value';
  END IF;
  NEW.evidence := gov.evidence_manifest(NEW.golden_set_version_id, NEW.target_version_id, NEW.run_id,
                                        NEW.baseline_run_id, NEW.environment, NEW.comparison_sha256, NEW.tool_build);
  NEW.evidence_sha256 := gov.json_sha256(NEW.evidence);
  NEW.gates := gov.evaluate_gates(cmp, NEW.baseline_run_id IS NOT NULL);
  NEW.gates_passed := NOT EXISTS (SELECT 1 FROM jsonb_array_elements(NEW.gates) g WHERE g -> 'passed' = 'false'::jsonb);
  RETURN NEW;
END $$;
CREATE TRIGGER review_insert_guard BEFORE INSERT ON gov.review
  FOR EACH ROW EXECUTE FUNCTION gov.review_before_insert();

-- A review only closes, once, and only when the decisions justify it.
CREATE FUNCTION gov.review_before_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  approvals int;
  needed int;
BEGIN
  IF (to_jsonb(NEW) - 'status' - 'closed_at') IS DISTINCT FROM (to_jsonb(OLD) - 'status' - 'closed_at') THEN
    RAISE EXCEPTION 'driftwatch: review % is immutable; only its status may close', OLD.id
      USING ERRCODE = 'raise_exception';
  END IF;
  IF OLD.status <> 'open' THEN
    RAISE EXCEPTION 'driftwatch: review % is already %', OLD.id, OLD.status USING ERRCODE = 'raise_exception';
  END IF;
  IF NEW.status = 'open' THEN
    RETURN NEW;
  END IF;
  NEW.closed_at := clock_timestamp();
  IF NEW.status = 'rejected' THEN
    IF NOT EXISTS (SELECT 1 FROM gov.decision d WHERE d.review_id = NEW.id AND d.decision = 'reject') THEN
      RAISE EXCEPTION 'driftwatch: review % has no rejection', NEW.id USING ERRCODE = 'raise_exception';
    END IF;
    RETURN NEW;
  END IF;
  SELECT count(*) INTO approvals FROM gov.decision d WHERE d.review_id = NEW.id AND d.decision = 'approve';
  needed := greatest(NEW.min_approvals, gov.approval_floor(NEW.environment));
  IF approvals < needed THEN
    RAISE EXCEPTION 'driftwatch: review % has % of % required approvals', NEW.id, approvals, needed
      USING ERRCODE = 'raise_exception';
  END IF;
  IF NOT NEW.gates_passed AND NOT gov.has_valid_waiver(NEW.id) THEN
    RAISE EXCEPTION 'driftwatch: review % fails policy gates without a valid waiver', NEW.id
      USING ERRCODE = 'raise_exception';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER review_update_guard BEFORE UPDATE ON gov.review
  FOR EACH ROW EXECUTE FUNCTION gov.review_before_update();
CREATE TRIGGER review_no_delete BEFORE DELETE ON gov.review
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();
CREATE TRIGGER review_no_truncate BEFORE TRUNCATE ON gov.review
  FOR EACH STATEMENT EXECUTE FUNCTION core.refuse_change();

-- Four-eyes, one verdict per person, the evidence the reviewer saw, fresh
-- evidence for approvals and waivers, the gates, and waiver authority.
CREATE FUNCTION gov.decision_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  rv gov.review;
  run_author text;
  now_evidence text;
BEGIN
  SELECT * INTO rv FROM gov.review WHERE id = NEW.review_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'driftwatch: there is no review %', NEW.review_id USING ERRCODE = 'no_data_found';
  END IF;
  IF rv.status <> 'open' THEN
    RAISE EXCEPTION 'driftwatch: review % is already %; decisions are final', rv.id, rv.status
      USING ERRCODE = 'raise_exception';
  END IF;
  NEW.decided_at := clock_timestamp();
  IF NEW.evidence_sha256 IS DISTINCT FROM rv.evidence_sha256 THEN
    RAISE EXCEPTION 'driftwatch: the evidence you decided on (%) is not the evidence of review % (%)',
      NEW.evidence_sha256, rv.id, rv.evidence_sha256 USING ERRCODE = 'raise_exception';
  END IF;
  IF EXISTS (SELECT 1 FROM gov.decision d
              WHERE d.review_id = rv.id AND lower(d.reviewer) = lower(NEW.reviewer)
                AND (d.decision = 'waive') = (NEW.decision = 'waive')) THEN
    RAISE EXCEPTION 'driftwatch: % has already decided on review %; decisions are never edited',
      NEW.reviewer, rv.id USING ERRCODE = 'raise_exception';
  END IF;
  IF NEW.decision = 'reject' THEN
    RETURN NEW;
  END IF;
  IF lower(NEW.reviewer) = lower(rv.requested_by) THEN
    RAISE EXCEPTION 'driftwatch: % requested review % and cannot % it (no self-approval)',
      NEW.reviewer, rv.id, NEW.decision USING ERRCODE = 'raise_exception';
  END IF;
  SELECT r.requested_by INTO run_author FROM run.run r WHERE r.id = rv.run_id;
  IF lower(NEW.reviewer) = lower(run_author) THEN
    RAISE EXCEPTION 'driftwatch: % started the candidate run % and cannot % it (no self-approval)',
      NEW.reviewer, rv.run_id, NEW.decision USING ERRCODE = 'raise_exception';
  END IF;
  now_evidence := gov.json_sha256(gov.current_evidence(rv));
  IF now_evidence IS DISTINCT FROM rv.evidence_sha256 THEN
    RAISE EXCEPTION 'driftwatch: the evidence of review % is stale: the cited runs or the baseline changed since it was requested (now %, frozen %); request a new review',
      rv.id, now_evidence, rv.evidence_sha256 USING ERRCODE = 'raise_exception';
  END IF;
  IF NEW.decision = 'waive' THEN
    IF NOT gov.may_waive(NEW.reviewer) THEN
      RAISE EXCEPTION 'driftwatch: % holds no role that may waive policy gates', NEW.reviewer
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF rv.gates_passed THEN
      RAISE EXCEPTION 'driftwatch: review % passes every gate; there is nothing to waive', rv.id
        USING ERRCODE = 'raise_exception';
    END IF;
    IF NEW.waiver_expires_at <= clock_timestamp() THEN
      RAISE EXCEPTION 'driftwatch: a waiver must expire in the future' USING ERRCODE = 'invalid_parameter_value';
    END IF;
  ELSIF NOT rv.gates_passed AND NOT gov.has_valid_waiver(rv.id) THEN
    RAISE EXCEPTION 'driftwatch: the evidence of review % fails the policy: %; it needs an unexpired waiver before approval',
      rv.id, gov.failed_gates(rv.gates) USING ERRCODE = 'raise_exception';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER decision_insert_guard BEFORE INSERT ON gov.decision
  FOR EACH ROW EXECUTE FUNCTION gov.decision_before_insert();
CREATE TRIGGER decision_append_only BEFORE UPDATE OR DELETE ON gov.decision
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();
CREATE TRIGGER decision_no_truncate BEFORE TRUNCATE ON gov.decision
  FOR EACH STATEMENT EXECUTE FUNCTION core.refuse_change();

-- A pointer moves only for an approved review, to exactly what it approved;
-- the previous position and the approvers are recorded by the database.
CREATE FUNCTION gov.pointer_event_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  rv gov.review;
  cur gov.pointer_event;
BEGIN
  SELECT * INTO rv FROM gov.review WHERE id = NEW.review_id;
  IF rv.status IS DISTINCT FROM 'approved' THEN
    RAISE EXCEPTION 'driftwatch: the % pointer moves only through an approved review; review % is %',
      NEW.pointer, NEW.review_id, coalesce(rv.status, 'missing') USING ERRCODE = 'raise_exception';
  END IF;
  SELECT t.name INTO NEW.target FROM core.target_version t WHERE t.id = rv.target_version_id;
  NEW.environment := rv.environment;
  NEW.run_id := rv.run_id;
  NEW.target_version_id := rv.target_version_id;
  NEW.golden_set_id := CASE WHEN NEW.pointer = 'baseline'
                            THEN (SELECT v.golden_set_id FROM core.golden_set_version v
                                   WHERE v.id = rv.golden_set_version_id) END;
  PERFORM pg_advisory_xact_lock(hashtextextended('gov.pointer/' || NEW.target || '/' || NEW.environment, 0));
  SELECT * INTO cur FROM gov.pointer_event p
   WHERE p.pointer = NEW.pointer AND p.target = NEW.target AND p.environment = NEW.environment
     AND p.golden_set_id IS NOT DISTINCT FROM NEW.golden_set_id
   ORDER BY p.seq DESC LIMIT 1;
  NEW.previous_run_id := cur.run_id;
  NEW.previous_target_version_id := cur.target_version_id;
  SELECT coalesce(array_agg(d.reviewer::text ORDER BY d.id), '{}') INTO NEW.approvers
    FROM gov.decision d WHERE d.review_id = rv.id AND d.decision = 'approve';
  NEW.moved_at := clock_timestamp();
  RETURN NEW;
END $$;
CREATE TRIGGER pointer_event_insert_guard BEFORE INSERT ON gov.pointer_event
  FOR EACH ROW EXECUTE FUNCTION gov.pointer_event_before_insert();
CREATE TRIGGER pointer_event_append_only BEFORE UPDATE OR DELETE ON gov.pointer_event
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();
CREATE TRIGGER pointer_event_no_truncate BEFORE TRUNCATE ON gov.pointer_event
  FOR EACH STATEMENT EXECUTE FUNCTION core.refuse_change();

CREATE TRIGGER role_event_append_only BEFORE UPDATE OR DELETE ON gov.role_event
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();
CREATE TRIGGER role_event_no_truncate BEFORE TRUNCATE ON gov.role_event
  FOR EACH STATEMENT EXECUTE FUNCTION core.refuse_change();
CREATE TRIGGER policy_event_append_only BEFORE UPDATE OR DELETE ON gov.policy_event
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();
CREATE TRIGGER policy_event_no_truncate BEFORE TRUNCATE ON gov.policy_event
  FOR EACH STATEMENT EXECUTE FUNCTION core.refuse_change();

CREATE CONSTRAINT TRIGGER review_audited AFTER INSERT OR UPDATE ON gov.review
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gov.require_audit('review', 'id', 'id');
CREATE CONSTRAINT TRIGGER decision_audited AFTER INSERT ON gov.decision
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gov.require_audit('review', 'review_id', 'id');
CREATE CONSTRAINT TRIGGER pointer_event_audited AFTER INSERT ON gov.pointer_event
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gov.require_audit('target', 'target', 'seq');
CREATE CONSTRAINT TRIGGER role_event_audited AFTER INSERT ON gov.role_event
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gov.require_audit('principal', 'principal', 'seq');
CREATE CONSTRAINT TRIGGER policy_event_audited AFTER INSERT ON gov.policy_event
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gov.require_audit('environment', 'environment', 'seq');

-- The write path. SECURITY DEFINER with a fixed search_path; every state
-- change appends its audit event in the same transaction.

CREATE FUNCTION gov.request_review(p_requested_by text, p_golden_set text, p_golden_set_version int,
                                   p_target text, p_target_version text, p_run uuid, p_environment text,
                                   p_min_approvals int, p_comparison text, p_tool_build text, p_note text)
RETURNS uuid LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  gsv_id bigint;
  tv_ids bigint[];
  rv gov.review;
BEGIN
  SELECT v.id INTO gsv_id FROM core.golden_set_version v JOIN core.golden_set g ON g.id = v.golden_set_id
   WHERE g.name = p_golden_set AND v.version = p_golden_set_version;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'driftwatch: golden set %@% is not published', p_golden_set, p_golden_set_version
      USING ERRCODE = 'no_data_found';
  END IF;
  IF p_target_version IS NULL OR p_target_version !~ '^[0-9a-f]{8,64}$' THEN
    RAISE EXCEPTION 'driftwatch: a target version is 8 to 64 lower-case hex digits of its hash'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT array_agg(t.id) INTO tv_ids FROM core.target_version t
   WHERE t.name = p_target AND t.version_hash LIKE p_target_version || '%';
  IF tv_ids IS NULL THEN
    RAISE EXCEPTION 'driftwatch: target % has no version %', p_target, p_target_version
      USING ERRCODE = 'no_data_found';
  END IF;
  IF cardinality(tv_ids) > 1 THEN
    RAISE EXCEPTION 'driftwatch: target version prefix % is ambiguous', p_target_version
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM run.run r WHERE r.id = p_run) THEN
    RAISE EXCEPTION 'driftwatch: there is no run %', p_run USING ERRCODE = 'no_data_found';
  END IF;
  INSERT INTO gov.review (golden_set_version_id, target_version_id, run_id, environment, requested_by,
                          min_approvals, comparison, tool_build, note, evidence, evidence_sha256, gates,
                          gates_passed)
  VALUES (gsv_id, tv_ids[1], p_run, p_environment, p_requested_by, p_min_approvals, p_comparison, p_tool_build,
          coalesce(p_note, ''), '{}', repeat('0', 64), '[]', false)
  RETURNING * INTO rv;
  PERFORM audit.append(p_requested_by, 'review.request', 'review', rv.id::text, gov.canonical_json(jsonb_build_object(
    'record', 'gov.review/' || rv.id,
    'golden_set', p_golden_set, 'golden_set_version', p_golden_set_version,
    'target', p_target, 'target_version_hash', rv.evidence -> 'target' ->> 'version_hash',
    'environment', rv.environment, 'run', rv.run_id::text, 'baseline_run', rv.baseline_run_id::text,
    'evidence_sha256', rv.evidence_sha256, 'gates_passed', rv.gates_passed, 'min_approvals', rv.min_approvals)));
  RETURN rv.id;
END $$;

-- Records one decision. When the last required approval arrives the review
-- is approved and the baseline and environment pointers move to the
-- candidate. Returns the review's status afterwards.
CREATE FUNCTION gov.decide(p_review uuid, p_reviewer text, p_decision text, p_evidence_sha256 text, p_reason text,
                           p_waiver_expires_at timestamptz)
RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  rv gov.review;
  decision_id bigint;
  approvals int;
  ev gov.pointer_event;
  gs_name text;
BEGIN
  SELECT * INTO rv FROM gov.review WHERE id = p_review FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'driftwatch: there is no review %', p_review USING ERRCODE = 'no_data_found';
  END IF;
  INSERT INTO gov.decision (review_id, reviewer, decision, reason, waiver_expires_at, evidence_sha256)
  VALUES (p_review, p_reviewer, p_decision, coalesce(p_reason, ''), p_waiver_expires_at, p_evidence_sha256)
  RETURNING id INTO decision_id;
  PERFORM audit.append(p_reviewer, 'review.' || p_decision, 'review', p_review::text, gov.canonical_json(
    jsonb_build_object('record', 'gov.decision/' || decision_id, 'reason', coalesce(p_reason, ''),
                       'evidence_sha256', p_evidence_sha256,
                       'waiver_expires_at', gov.iso_utc(p_waiver_expires_at))));
  IF p_decision = 'reject' THEN
    UPDATE gov.review SET status = 'rejected' WHERE id = p_review;
    PERFORM audit.append(p_reviewer, 'review.rejected', 'review', p_review::text, gov.canonical_json(
      jsonb_build_object('record', 'gov.review/' || p_review || '/rejected')));
    RETURN 'rejected';
  END IF;
  IF p_decision = 'waive' THEN
    RETURN 'open';
  END IF;
  SELECT count(*) INTO approvals FROM gov.decision d WHERE d.review_id = p_review AND d.decision = 'approve';
  IF approvals < greatest(rv.min_approvals, gov.approval_floor(rv.environment)) THEN
    RETURN 'open';
  END IF;
  UPDATE gov.review SET status = 'approved' WHERE id = p_review;
  PERFORM audit.append(p_reviewer, 'review.approved', 'review', p_review::text, gov.canonical_json(
    jsonb_build_object('record', 'gov.review/' || p_review || '/approved', 'approvals', approvals)));
  SELECT g.name INTO gs_name FROM core.golden_set_version v JOIN core.golden_set g ON g.id = v.golden_set_id
   WHERE v.id = rv.golden_set_version_id;
  INSERT INTO gov.pointer_event (pointer, target, environment, run_id, target_version_id, review_id, approvers)
  VALUES ('baseline', '', rv.environment, rv.run_id, rv.target_version_id, p_review, '{}')
  RETURNING * INTO ev;
  PERFORM audit.append(p_reviewer, 'baseline.move', 'target', ev.target, gov.canonical_json(jsonb_build_object(
    'record', 'gov.pointer_event/' || ev.seq, 'golden_set', gs_name, 'environment', ev.environment,
    'from_run', ev.previous_run_id::text, 'to_run', ev.run_id::text, 'review', p_review::text)));
  INSERT INTO gov.pointer_event (pointer, target, environment, run_id, target_version_id, review_id, approvers)
  VALUES ('environment', '', rv.environment, rv.run_id, rv.target_version_id, p_review, '{}')
  RETURNING * INTO ev;
  PERFORM audit.append(p_reviewer, 'environment.move', 'target', ev.target, gov.canonical_json(jsonb_build_object(
    'record', 'gov.pointer_event/' || ev.seq, 'environment', ev.environment,
    'from_version', (SELECT t.version_hash FROM core.target_version t WHERE t.id = ev.previous_target_version_id),
    'to_version', (SELECT t.version_hash FROM core.target_version t WHERE t.id = ev.target_version_id),
    'run', ev.run_id::text, 'review', p_review::text)));
  RETURN 'approved';
END $$;

CREATE FUNCTION gov.set_approval_policy(p_actor text, p_environment text, p_min_approvals int)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  ev gov.policy_event;
BEGIN
  INSERT INTO gov.policy_event (environment, min_approvals, actor) VALUES (p_environment, p_min_approvals, p_actor)
  RETURNING * INTO ev;
  PERFORM audit.append(p_actor, 'policy.set', 'environment', ev.environment, gov.canonical_json(jsonb_build_object(
    'record', 'gov.policy_event/' || ev.seq, 'min_approvals', ev.min_approvals)));
END $$;

CREATE FUNCTION gov.change_app_role(p_actor text, p_principal text, p_role text, p_action text, p_reason text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  ev gov.role_event;
BEGIN
  IF lower(p_actor) = lower(p_principal) THEN
    RAISE EXCEPTION 'driftwatch: % cannot % their own roles', p_actor, p_action USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM gov.app_role r WHERE r.name = p_role) THEN
    RAISE EXCEPTION 'driftwatch: there is no application role %', p_role USING ERRCODE = 'no_data_found';
  END IF;
  IF gov.holds_role(p_principal, p_role) = (p_action = 'grant') THEN
    RAISE EXCEPTION 'driftwatch: % %', p_principal,
      CASE WHEN p_action = 'grant' THEN 'already holds ' ELSE 'does not hold ' END || p_role
      USING ERRCODE = 'raise_exception';
  END IF;
  INSERT INTO gov.role_event (principal, app_role, action, actor, reason)
  VALUES (p_principal, p_role, p_action, p_actor, coalesce(p_reason, ''))
  RETURNING * INTO ev;
  PERFORM audit.append(p_actor, 'role.' || p_action, 'principal', ev.principal, gov.canonical_json(jsonb_build_object(
    'record', 'gov.role_event/' || ev.seq, 'app_role', ev.app_role, 'reason', ev.reason)));
END $$;

-- The manifest a review would have now; compare its hash with the frozen one.
CREATE FUNCTION gov.review_current_evidence(p_review uuid) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT gov.current_evidence(r) FROM gov.review r WHERE r.id = p_review
$$;

-- Default floors: two people sign off production.
SELECT gov.set_approval_policy('driftwatch-migrate', 'production', 2);
SELECT gov.set_approval_policy('driftwatch-migrate', 'staging', 1);

-- Read-only views for Grafana and reports.
CREATE VIEW report.review_status AS
  SELECT r.id AS review_id, g.name AS golden_set, v.version AS golden_set_version, t.name AS target,
         t.version_hash AS target_version_hash, r.environment, r.run_id, r.baseline_run_id, r.status,
         r.requested_by, r.requested_at, r.min_approvals,
         (SELECT count(*) FROM gov.decision d WHERE d.review_id = r.id AND d.decision = 'approve') AS approvals,
         r.gates_passed, r.evidence_sha256, r.closed_at
  FROM gov.review r
  JOIN core.golden_set_version v ON v.id = r.golden_set_version_id
  JOIN core.golden_set g ON g.id = v.golden_set_id
  JOIN core.target_version t ON t.id = r.target_version_id;

CREATE VIEW report.pointer_history AS
  SELECT p.seq, p.pointer, p.target, p.environment, g.name AS golden_set, p.run_id,
         t.version_hash AS target_version_hash, p.previous_run_id, pt.version_hash AS previous_target_version_hash,
         p.review_id, r.requested_by, p.approvers, p.moved_at
  FROM gov.pointer_event p
  JOIN gov.review r ON r.id = p.review_id
  JOIN core.target_version t ON t.id = p.target_version_id
  LEFT JOIN core.target_version pt ON pt.id = p.previous_target_version_id
  LEFT JOIN core.golden_set g ON g.id = p.golden_set_id;

CREATE VIEW report.current_pointers AS
  SELECT DISTINCT ON (h.pointer, h.target, h.environment, h.golden_set) h.*
  FROM report.pointer_history h
  ORDER BY h.pointer, h.target, h.environment, h.golden_set, h.seq DESC;

-- Privileges: login roles write governance state only through the functions.
REVOKE ALL ON ALL TABLES IN SCHEMA gov FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA gov FROM PUBLIC;
GRANT USAGE ON SCHEMA gov TO dw_runner, dw_reviewer, dw_auditor, dw_migrator;
GRANT SELECT ON ALL TABLES IN SCHEMA gov TO dw_runner, dw_reviewer, dw_auditor;
GRANT EXECUTE ON FUNCTION gov.request_review(text, text, int, text, text, uuid, text, int, text, text, text)
  TO dw_runner, dw_reviewer;
GRANT EXECUTE ON FUNCTION gov.decide(uuid, text, text, text, text, timestamptz) TO dw_reviewer;
GRANT EXECUTE ON FUNCTION gov.review_current_evidence(uuid), gov.has_valid_waiver(uuid), gov.canonical_json(jsonb),
  gov.json_sha256(jsonb) TO dw_runner, dw_reviewer, dw_auditor;
GRANT EXECUTE ON FUNCTION gov.set_approval_policy(text, text, int) TO dw_migrator;
GRANT EXECUTE ON FUNCTION gov.change_app_role(text, text, text, text, text) TO dw_migrator;
GRANT SELECT ON report.review_status, report.pointer_history, report.current_pointers
  TO dw_reader, dw_runner, dw_reviewer, dw_auditor;
