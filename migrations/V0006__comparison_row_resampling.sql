-- How each comparison row's interval and test resampled the cases: the
-- interval's method, whether cases sharing a golden-set `group` were
-- resampled and sign-flipped as whole clusters, and the number of resampling
-- units. Rows stored before this migration were never clustered (golden-set
-- cases had no group yet); their method stays in `detail`.
ALTER TABLE run.comparison_row
  ADD COLUMN ci_method text,
  ADD COLUMN clustered boolean NOT NULL DEFAULT false,
  ADD COLUMN clusters  int;

CREATE OR REPLACE VIEW report.comparison_rows AS
  SELECT c.id AS comparison_id, c.created_at, g.name AS golden_set, t.name AS target,
         c.baseline_run_id, c.candidate_run_id, c.verdict AS overall_verdict, c.severity AS overall_severity,
         r.metric, r.slice, r.n, r.baseline, r.candidate, r.delta, r.ci_low, r.ci_high, r.p_value, r.q_value,
         r.test, r.b, r.c, r.verdict, r.severity, r.ci_method, r.clustered, r.clusters
  FROM run.comparison c
  JOIN run.comparison_row r ON r.comparison_id = c.id
  JOIN run.run cr ON cr.id = c.candidate_run_id
  JOIN core.golden_set_version v ON v.id = cr.golden_set_version_id
  JOIN core.golden_set g ON g.id = v.golden_set_id
  JOIN core.target_version t ON t.id = cr.target_version_id;
