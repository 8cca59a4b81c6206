-- ctj_append_events (migrations 003 and 008) taking the events alone: one
-- JSON array of their canonical form, in log order. Each row's uuid is the
-- event's own event_id and its metadata the empty object every call event
-- has, so the engine no longer encodes an array of ids and an array of
-- metadata beside the events, nor PostgreSQL parses them. What it refuses,
-- and how, is unchanged (see 003).
DROP FUNCTION IF EXISTS ctj_append_events(text[], json, json);
CREATE OR REPLACE FUNCTION ctj_append_events(p_events json) RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    WITH appended AS (
        INSERT INTO ctj_log (uuid, payload, metadata, transaction_id)
        SELECT m.event->>'event_id', m.event::jsonb, '{}', pg_current_xact_id()
        FROM json_array_elements(p_events) WITH ORDINALITY AS m(event, n)
        ORDER BY m.n
        RETURNING payload->>'order_id' AS order_id, payload->>'widget_id' AS widget_id)
    INSERT INTO ctj_order_widgets AS w (order_id, widget_id)
    SELECT a.order_id, a.widget_id FROM (SELECT DISTINCT order_id, widget_id FROM appended) a
    WHERE (SELECT t.widget_id FROM ctj_order_widgets t WHERE t.order_id = a.order_id) IS DISTINCT FROM a.widget_id
    ORDER BY a.order_id
    ON CONFLICT (order_id) DO UPDATE SET widget_id = CASE WHEN w.widget_id = excluded.widget_id THEN w.widget_id END;
END
$$;
