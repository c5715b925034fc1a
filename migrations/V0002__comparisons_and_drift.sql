-- Paired comparisons with the baseline and per-metric drift detector state.
-- Every statistic is stored with its method, parameters, seed and sizes so a
-- reviewer can reproduce it.

CREATE TABLE run.comparison (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  baseline_run_id    uuid NOT NULL REFERENCES run.run,
  candidate_run_id   uuid NOT NULL REFERENCES run.run,
  common_cases_only  boolean NOT NULL DEFAULT false,
  verdict            text NOT NULL CHECK (verdict IN ('improved','regressed','unchanged','changed','insufficient_data')),
  severity           text NOT NULL CHECK (severity IN ('none','info','warning','critical')),
  seed               text NOT NULL,
  policy             jsonb NOT NULL,
  result             jsonb NOT NULL,      -- the full comparison as printed by --format json
  result_sha256      text NOT NULL CHECK (result_sha256 ~ '^[0-9a-f]{64}$'),
  computed_by        text NOT NULL,       -- driftwatch build
  created_by         text NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  CHECK (baseline_run_id <> candidate_run_id)
);
CREATE INDEX comparison_candidate_idx ON run.comparison (candidate_run_id, created_at DESC);

CREATE TABLE run.comparison_row (
  comparison_id  bigint NOT NULL REFERENCES run.comparison,
  metric         text NOT NULL,
  slice          text NOT NULL,
  kind           text NOT NULL,
  n              int NOT NULL,
  n_missing      int NOT NULL,
  baseline       double precision,
  candidate      double precision,
  delta          double precision,
  ci_low         double precision,
  ci_high        double precision,
  p_value        double precision,
  q_value        double precision,
  test           text NOT NULL,
  b              int,
  c              int,
  verdict        text NOT NULL,
  severity       text NOT NULL,
  detail         jsonb NOT NULL,
  PRIMARY KEY (comparison_id, metric, slice)
);

-- One point per (run, metric) of the "all" slice: the run-level value and
-- the CUSUM/EWMA state after it. The latest point per series is the state.
CREATE TABLE run.drift_point (
  run_id        uuid NOT NULL REFERENCES run.run,
  golden_set    text NOT NULL,
  target        text NOT NULL,
  metric        text NOT NULL,
  value         double precision,
  baseline_run_id uuid REFERENCES run.run,
  cusum_upper   double precision,
  cusum_lower   double precision,
  ewma          double precision,
  in_alarm      boolean NOT NULL,
  runs_in_alarm int NOT NULL,
  state         jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, metric)
);
CREATE INDEX drift_point_series_idx ON run.drift_point (golden_set, target, metric, created_at DESC);

CREATE TRIGGER comparison_append_only BEFORE UPDATE OR DELETE ON run.comparison
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();
CREATE TRIGGER comparison_row_append_only BEFORE UPDATE OR DELETE ON run.comparison_row
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();
CREATE TRIGGER drift_point_append_only BEFORE UPDATE OR DELETE ON run.drift_point
  FOR EACH ROW EXECUTE FUNCTION core.refuse_change();

CREATE VIEW report.comparison_rows AS
  SELECT c.id AS comparison_id, c.created_at, g.name AS golden_set, t.name AS target,
         c.baseline_run_id, c.candidate_run_id, c.verdict AS overall_verdict, c.severity AS overall_severity,
         r.metric, r.slice, r.n, r.baseline, r.candidate, r.delta, r.ci_low, r.ci_high, r.p_value, r.q_value,
         r.test, r.b, r.c, r.verdict, r.severity
  FROM run.comparison c
  JOIN run.comparison_row r ON r.comparison_id = c.id
  JOIN run.run cr ON cr.id = c.candidate_run_id
  JOIN core.golden_set_version v ON v.id = cr.golden_set_version_id
  JOIN core.golden_set g ON g.id = v.golden_set_id
  JOIN core.target_version t ON t.id = cr.target_version_id;

CREATE VIEW report.drift_series AS
  SELECT p.created_at AS time, p.golden_set, p.target, p.metric, p.value, p.cusum_upper, p.cusum_lower, p.ewma,
         p.in_alarm, p.runs_in_alarm, p.run_id
  FROM run.drift_point p;

CREATE VIEW report.case_changes AS
  SELECT c.id AS comparison_id, b.case_id, b.repeat, b.outcome AS baseline_outcome, k.outcome AS candidate_outcome,
         b.output AS baseline_output, k.output AS candidate_output, b.score AS baseline_score,
         k.score AS candidate_score
  FROM run.comparison c
  JOIN run.result b ON b.run_id = c.baseline_run_id
  JOIN run.result k ON k.run_id = c.candidate_run_id AND k.case_id = b.case_id AND k.repeat = b.repeat
  WHERE b.outcome IS DISTINCT FROM k.outcome;

GRANT INSERT ON run.comparison, run.comparison_row, run.drift_point TO dw_runner;
GRANT SELECT ON run.comparison, run.comparison_row, run.drift_point TO dw_runner, dw_reviewer, dw_auditor;
GRANT SELECT ON report.comparison_rows, report.drift_series, report.case_changes
  TO dw_reader, dw_reviewer, dw_auditor, dw_runner;
