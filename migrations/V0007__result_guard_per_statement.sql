-- Results may only be written while their run is running (V0001's
-- result_insert_guard). That guard ran a PL/pgSQL function and a query for
-- every row; a COPY batch holds one run's rows, so it is now checked once per
-- statement over the distinct runs of the rows it inserted (rows skipped by
-- ON CONFLICT DO NOTHING insert nothing and are not checked). The error and
-- its code are unchanged.
CREATE FUNCTION run.check_result_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  stopped uuid;
BEGIN
  SELECT n.run_id INTO stopped FROM (SELECT DISTINCT run_id FROM new_rows) n
   WHERE NOT EXISTS (SELECT 1 FROM run.run r WHERE r.id = n.run_id AND r.status = 'running')
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'driftwatch: run % is not running; its results are final', stopped
      USING ERRCODE = 'raise_exception';
  END IF;
  RETURN NULL;
END $$;

DROP TRIGGER result_insert_guard ON run.result;
DROP FUNCTION run.check_result_insert();
CREATE TRIGGER result_insert_guard AFTER INSERT ON run.result REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION run.check_result_rows();
