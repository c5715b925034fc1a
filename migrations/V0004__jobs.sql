-- Driftwatch scheduled service: cron fire bookkeeping, the job queue with
-- leases and fencing tokens, per-target slots and API tokens.
--
-- Leaderless scheduling. Every scheduler computes due fires itself; a fire is
-- recorded once in ops.schedule_fire (primary key (schedule, fire_time)) and
-- only the transaction that records it enqueues its jobs.
--
-- Claiming. ops.claim_job picks the oldest runnable job with FOR UPDATE SKIP
-- LOCKED, bumps its fence and gives the caller a lease that it renews
-- (ops.renew_leases). An expired lease puts the job back in the queue (or
-- fails it once its attempts are used up) on the next claim by anyone.
--
-- Per-target slots. At most ops.target_slots.slots jobs (default 1) of one
-- target run at a time across every worker: claimers of a target serialise
-- on a transaction advisory lock and count the running jobs. With one slot a
-- target's concurrency and rate limit hold globally, because one run at a
-- time applies them.
--
-- Fencing. A worker opens every connection it uses for a job with the session
-- settings driftwatch.job and driftwatch.fence (libpq `options`). Triggers
-- below link the run it creates to its job and refuse result and score
-- inserts and run updates for a run owned by a job unless the writer holds
-- the job's current fence and an unexpired lease. The check takes a share
-- lock on the job row, so a claim that takes the job over waits for in-flight
-- writes and every later write sees the new fence: a worker that lost its
-- lease cannot write. Sessions without the settings (people resuming a run
-- by hand) may write only while no worker holds the job. The settings guard
-- against zombie workers, not against hostile clients, which could set them.

CREATE TABLE ops.schedule_state (
  schedule_name  text PRIMARY KEY,
  known_since    timestamptz NOT NULL,  -- first seen: fires before it are never run
  last_fire      timestamptz,           -- latest fire handled (enqueued, skipped or disabled)
  updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ops.schedule_fire (
  schedule_name  text NOT NULL,
  fire_time      timestamptz NOT NULL,
  outcome        text NOT NULL CHECK (outcome IN ('enqueued', 'skipped')),
  missed         int NOT NULL DEFAULT 0 CHECK (missed >= 0),  -- earlier missed fires this row stands for
  recorded_by    text NOT NULL,
  recorded_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (schedule_name, fire_time)
);

CREATE TABLE ops.job (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  schedule_name     text,
  fire_time         timestamptz,
  goldenset         text NOT NULL,  -- NAME@VERSION, resolved when enqueued when the set exists
  target            text NOT NULL,
  repeats           int NOT NULL CHECK (repeats BETWEEN 1 AND 100),
  trigger           text NOT NULL CHECK (trigger IN ('schedule', 'api', 'manual')),
  requested_by      text NOT NULL,
  state             text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
  priority          int NOT NULL DEFAULT 0,
  attempts          int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts      int NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 100),
  not_before        timestamptz NOT NULL DEFAULT clock_timestamp(),
  fence             bigint NOT NULL DEFAULT 0,
  lease_owner       text,
  lease_expires_at  timestamptz,
  run_id            uuid UNIQUE REFERENCES run.run,
  error             text,
  created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  started_at        timestamptz,
  finished_at       timestamptz,
  updated_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (schedule_name, fire_time, target),
  CHECK ((state = 'running') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)),
  CHECK ((state IN ('done', 'failed')) = (finished_at IS NOT NULL)),
  CHECK (fire_time IS NULL OR schedule_name IS NOT NULL)
);
CREATE INDEX job_claim_idx ON ops.job (priority DESC, not_before, id) WHERE state = 'queued';
CREATE INDEX job_lease_idx ON ops.job (lease_expires_at) WHERE state = 'running';
CREATE INDEX job_running_target_idx ON ops.job (target) WHERE state = 'running';
CREATE INDEX job_created_idx ON ops.job (created_at DESC);

-- One row per claim: who held which fence, and how the attempt ended.
CREATE TABLE ops.job_attempt (
  job_id      bigint NOT NULL REFERENCES ops.job,
  fence       bigint NOT NULL,
  worker      text NOT NULL,
  started_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  ended_at    timestamptz,
  outcome     text CHECK (outcome IN ('done', 'retry', 'failed', 'released', 'lease_expired')),
  detail      text,
  PRIMARY KEY (job_id, fence)
);

CREATE TABLE ops.target_slots (
  target      text PRIMARY KEY,
  slots       int NOT NULL CHECK (slots BETWEEN 1 AND 1000),
  updated_by  text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- API bearer tokens: only the sha256 of the secret is stored.
CREATE TABLE ops.api_token (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name          text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$'),
  token_sha256  text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
  scopes        text[] NOT NULL CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'run', 'review', 'admin']),
  created_by    text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_by    text,
  revoked_at    timestamptz,
  last_used_at  timestamptz,
  CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE UNIQUE INDEX api_token_active_name_idx ON ops.api_token (lower(name)) WHERE revoked_at IS NULL;

-- Claims one runnable job for p_worker, or returns no row. Rescues expired
-- leases first. p_targets limits the targets the caller can run (NULL: any).
CREATE FUNCTION ops.claim_job(p_worker text, p_lease_ms int, p_targets text[]) RETURNS SETOF ops.job
LANGUAGE plpgsql AS $$
DECLARE
  c record;
  cap int;
  busy int;
  claimed ops.job;
BEGIN
  WITH expired AS (
    SELECT id FROM ops.job WHERE state = 'running' AND lease_expires_at < clock_timestamp()
    FOR UPDATE SKIP LOCKED
  ), rescued AS (
    UPDATE ops.job j
       SET state = CASE WHEN j.attempts >= j.max_attempts THEN 'failed' ELSE 'queued' END,
           error = format('the lease of worker %s expired (attempt %s of %s)', j.lease_owner, j.attempts,
                          j.max_attempts),
           finished_at = CASE WHEN j.attempts >= j.max_attempts THEN clock_timestamp() END,
           lease_owner = NULL, lease_expires_at = NULL, not_before = clock_timestamp(),
           updated_at = clock_timestamp()
      FROM expired e WHERE j.id = e.id
    RETURNING j.id, j.fence
  )
  UPDATE ops.job_attempt a SET ended_at = clock_timestamp(), outcome = 'lease_expired'
    FROM rescued r WHERE a.job_id = r.id AND a.fence = r.fence;

  FOR c IN SELECT j.id, j.target FROM ops.job j
            WHERE j.state = 'queued' AND j.not_before <= clock_timestamp()
              AND (p_targets IS NULL OR j.target = ANY (p_targets))
            ORDER BY j.priority DESC, j.not_before, j.id
            LIMIT 64
            FOR UPDATE SKIP LOCKED
  LOOP
    PERFORM pg_advisory_xact_lock(hashtextextended('driftwatch.target_slots/' || c.target, 0));
    SELECT coalesce((SELECT s.slots FROM ops.target_slots s WHERE s.target = c.target), 1) INTO cap;
    SELECT count(*) INTO busy FROM ops.job r WHERE r.target = c.target AND r.state = 'running';
    CONTINUE WHEN busy >= cap;
    UPDATE ops.job
       SET state = 'running', attempts = attempts + 1, fence = fence + 1, lease_owner = p_worker,
           lease_expires_at = clock_timestamp() + p_lease_ms * interval '1 millisecond',
           started_at = coalesce(started_at, clock_timestamp()), updated_at = clock_timestamp()
     WHERE id = c.id
    RETURNING * INTO claimed;
    INSERT INTO ops.job_attempt (job_id, fence, worker) VALUES (claimed.id, claimed.fence, p_worker);
    RETURN NEXT claimed;
    RETURN;
  END LOOP;
END $$;

-- Extends the leases p_worker still holds (matching fence, still running);
-- returns the ids renewed. A missing id means that lease is lost.
CREATE FUNCTION ops.renew_leases(p_worker text, p_lease_ms int, p_ids bigint[], p_fences bigint[])
RETURNS SETOF bigint LANGUAGE sql AS $$
  UPDATE ops.job j
     SET lease_expires_at = clock_timestamp() + p_lease_ms * interval '1 millisecond', updated_at = clock_timestamp()
    FROM unnest(p_ids, p_fences) AS h(id, fence)
   WHERE j.id = h.id AND j.fence = h.fence AND j.state = 'running' AND j.lease_owner = p_worker
  RETURNING j.id
$$;

-- Ends an attempt: 'done'; 'retry' (queued again after p_retry_delay_ms, or
-- failed when out of attempts); 'failed' (no retry); 'released' (handed back
-- without using up an attempt). Returns the job's new state, or NULL when
-- the fence is stale (the caller lost the job and must not touch it).
CREATE FUNCTION ops.finish_job(p_id bigint, p_fence bigint, p_outcome text, p_detail text, p_retry_delay_ms int)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  j ops.job;
  new_state text;
  reason text;
BEGIN
  IF p_outcome NOT IN ('done', 'retry', 'failed', 'released') THEN
    RAISE EXCEPTION 'driftwatch: unknown job outcome %', p_outcome USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT * INTO j FROM ops.job WHERE id = p_id FOR UPDATE;
  IF NOT FOUND OR j.fence <> p_fence OR j.state <> 'running' THEN
    RETURN NULL;
  END IF;
  new_state := CASE p_outcome
    WHEN 'done' THEN 'done'
    WHEN 'failed' THEN 'failed'
    WHEN 'released' THEN 'queued'
    ELSE CASE WHEN j.attempts >= j.max_attempts THEN 'failed' ELSE 'queued' END
  END;
  reason := CASE
    WHEN p_outcome = 'done' THEN NULL
    WHEN p_outcome = 'retry' AND new_state = 'failed'
      THEN format('failed after %s attempts: %s', j.attempts, p_detail)
    ELSE p_detail
  END;
  UPDATE ops.job
     SET state = new_state, lease_owner = NULL, lease_expires_at = NULL,
         attempts = CASE WHEN p_outcome = 'released' THEN attempts - 1 ELSE attempts END,
         not_before = CASE WHEN p_outcome = 'retry'
                           THEN clock_timestamp() + greatest(p_retry_delay_ms, 0) * interval '1 millisecond'
                           ELSE clock_timestamp() END,
         error = reason,
         finished_at = CASE WHEN new_state IN ('done', 'failed') THEN clock_timestamp() END,
         updated_at = clock_timestamp()
   WHERE id = p_id;
  UPDATE ops.job_attempt SET ended_at = clock_timestamp(), outcome = p_outcome, detail = p_detail
   WHERE job_id = p_id AND fence = p_fence;
  RETURN new_state;
END $$;

-- The fencing check for writes to run p_run (see the top of this file).
CREATE FUNCTION ops.check_run_writer(p_run uuid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  j record;
  w_job text := nullif(current_setting('driftwatch.job', true), '');
  w_fence text := nullif(current_setting('driftwatch.fence', true), '');
BEGIN
  SELECT o.id, o.fence, o.state, o.lease_owner, o.lease_expires_at INTO j
    FROM ops.job o WHERE o.run_id = p_run FOR SHARE;
  IF NOT FOUND THEN
    IF w_job IS NOT NULL THEN
      RAISE EXCEPTION 'driftwatch: the worker of job % may not write run %, which belongs to no job', w_job, p_run
        USING ERRCODE = 'raise_exception';
    END IF;
    RETURN;
  END IF;
  IF w_job IS NULL THEN
    IF j.state = 'running' THEN
      RAISE EXCEPTION 'driftwatch: run % belongs to job %, leased by worker %; only that worker may write it',
        p_run, j.id, j.lease_owner USING ERRCODE = 'raise_exception';
    END IF;
    RETURN;
  END IF;
  IF w_job <> j.id::text OR w_fence IS DISTINCT FROM j.fence::text THEN
    RAISE EXCEPTION 'driftwatch: stale fencing token: job % is at fence %, this writer holds job % fence %; it lost its lease',
      j.id, j.fence, w_job, coalesce(w_fence, 'none') USING ERRCODE = 'raise_exception';
  END IF;
  IF j.state <> 'running' OR j.lease_expires_at <= clock_timestamp() THEN
    RAISE EXCEPTION 'driftwatch: the lease on job % (fence %) has expired; its worker may no longer write', j.id, j.fence
      USING ERRCODE = 'raise_exception';
  END IF;
END $$;

CREATE FUNCTION ops.guard_run_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r uuid;
BEGIN
  FOR r IN SELECT DISTINCT n.run_id FROM new_rows n LOOP
    PERFORM ops.check_run_writer(r);
  END LOOP;
  RETURN NULL;
END $$;
CREATE TRIGGER result_fence_guard AFTER INSERT ON run.result REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION ops.guard_run_rows();
CREATE TRIGGER score_fence_guard AFTER INSERT ON run.score REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION ops.guard_run_rows();

CREATE FUNCTION ops.guard_run_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM ops.check_run_writer(OLD.id);
  RETURN NEW;
END $$;
CREATE TRIGGER run_fence_guard BEFORE UPDATE ON run.run
  FOR EACH ROW EXECUTE FUNCTION ops.guard_run_update();

-- A run created by a worker session belongs to that worker's job; refused
-- when the worker's fence or lease is stale or the job already has a run.
CREATE FUNCTION ops.link_run_to_job() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  w_job text := nullif(current_setting('driftwatch.job', true), '');
  w_fence text := nullif(current_setting('driftwatch.fence', true), '');
BEGIN
  IF w_job IS NULL THEN
    RETURN NULL;
  END IF;
  UPDATE ops.job SET run_id = NEW.id, updated_at = clock_timestamp()
   WHERE id = w_job::bigint AND fence = w_fence::bigint AND state = 'running' AND run_id IS NULL
     AND lease_expires_at > clock_timestamp();
  IF NOT FOUND THEN
    RAISE EXCEPTION 'driftwatch: job % (fence %) cannot start run %: the lease is stale or the job already has a run',
      w_job, coalesce(w_fence, 'none'), NEW.id USING ERRCODE = 'raise_exception';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER run_link_job AFTER INSERT ON run.run
  FOR EACH ROW EXECUTE FUNCTION ops.link_run_to_job();

CREATE VIEW report.job_queue AS
  SELECT j.id AS job_id, j.schedule_name, j.fire_time, j.goldenset, j.target, j.trigger, j.state, j.attempts,
         j.max_attempts, j.lease_owner, j.lease_expires_at, j.run_id, j.error, j.created_at, j.started_at,
         j.finished_at
  FROM ops.job j;

-- Privileges: runners (serve, schedule) work the queue; tokens are readable
-- only by the service role; readers see the queue view.
REVOKE ALL ON ALL TABLES IN SCHEMA ops FROM PUBLIC;
REVOKE ALL ON FUNCTION ops.claim_job(text, int, text[]), ops.renew_leases(text, int, bigint[], bigint[]),
  ops.finish_job(bigint, bigint, text, text, int), ops.check_run_writer(uuid) FROM PUBLIC;
GRANT USAGE ON SCHEMA ops TO dw_runner, dw_reviewer, dw_auditor;
GRANT SELECT, INSERT, UPDATE ON ops.schedule_state, ops.schedule_fire, ops.job, ops.job_attempt, ops.target_slots,
  ops.api_token TO dw_runner;
GRANT SELECT ON ops.schedule_state, ops.schedule_fire, ops.job, ops.job_attempt, ops.target_slots
  TO dw_reviewer, dw_auditor;
GRANT EXECUTE ON FUNCTION ops.claim_job(text, int, text[]), ops.renew_leases(text, int, bigint[], bigint[]),
  ops.finish_job(bigint, bigint, text, text, int) TO dw_runner;
GRANT SELECT ON report.job_queue TO dw_reader, dw_runner, dw_reviewer, dw_auditor;
