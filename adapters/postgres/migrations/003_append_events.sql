-- ctj_append_events is the ingest's fast path (tyingLogSchema in
-- log_schema.go): in one statement it appends call events to the log, in
-- the order given, and ties each order they name to its widget unless it
-- is tied to that widget already. Anything already known refuses the whole
-- call, so the engine then judges the events one by one:
--   an event_id already stored breaks ctj_log's unique uuid (23505);
--   an order tied to another widget, in our snapshot or by a concurrent
--   call that committed first, sets widget_id to NULL (23502);
--   one new order named with two widgets in one call updates its tie twice
--   (21000).
-- A concurrent call tying the same order to the same widget is no refusal:
-- the conflict leaves the tie as it is. Ties are taken in order_id order, so
-- calls tying the same new orders wait for each other instead of
-- deadlocking; the tie is looked up by a scalar subquery, an index probe per
-- row whatever the table's statistics.
--
-- A function so that its plan is made once per session and kept
-- (force_generic_plan): the engine's sessions plan every other statement
-- afresh (db.go), and planning this one cost as much as running it.
CREATE OR REPLACE FUNCTION ctj_append_events(p_ids text[], p_payloads jsonb, p_metadata jsonb) RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    WITH appended AS (
        INSERT INTO ctj_log (uuid, payload, metadata, transaction_id)
        SELECT m.id, m.payload, m.meta::json, pg_current_xact_id()
        FROM ROWS FROM (unnest(p_ids), jsonb_array_elements(p_payloads), jsonb_array_elements(p_metadata))
            WITH ORDINALITY AS m(id, payload, meta, n)
        ORDER BY m.n
        RETURNING payload->>'order_id' AS order_id, payload->>'widget_id' AS widget_id)
    INSERT INTO ctj_order_widgets AS w (order_id, widget_id)
    SELECT DISTINCT a.order_id, a.widget_id FROM appended a
    WHERE (SELECT t.widget_id FROM ctj_order_widgets t WHERE t.order_id = a.order_id) IS DISTINCT FROM a.widget_id
    ORDER BY a.order_id
    ON CONFLICT (order_id) DO UPDATE SET widget_id = CASE WHEN w.widget_id = excluded.widget_id THEN w.widget_id END;
END
$$;
