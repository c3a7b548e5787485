-- Cohort design: every household with purchases, its arm, its index week and the attrition flags.
--
-- One row per household of `households`. Portable SQL: the same text runs on DuckDB and on Spark
-- SQL (see rollout/data/engines.py for the three Spark function names DuckDB gets as macros).
-- The design is documented in rollout/data/cohort_design.py; this is its one definition.
--
-- Inputs: households (customer_id, first_purchase_week), campaigns (campaign_id, campaign_type,
-- start_week), campaign_members (campaign_id, customer_id) and design_params (one row:
-- campaign_type, salt, window_weeks, first_week, last_week).
--
-- Two placeholders are replaced before the text is run, by the same expressions for both
-- engines: KEYED_UNIFORM(hex) reads the first 16 hex digits of a SHA-256 digest as an unsigned
-- integer and divides it by 2^64 in DOUBLE (cohort_design.keyed_uniform_sql), and
-- FIRST_DAY_OF_WEEK(week) is the data's calendar (WeekCalendar.first_day_sql).
WITH
params AS (
    SELECT campaign_type, salt, window_weeks, first_week, last_week FROM design_params
),
of_type AS (
    SELECT c.campaign_id, c.start_week
    FROM campaigns c CROSS JOIN params p
    WHERE c.campaign_type = p.campaign_type
),
-- Treated: households with purchases targeted by a campaign of the type, indexed at their
-- first such campaign (earliest start week; ties broken by the lower campaign id).
targeted AS (
    SELECT m.customer_id, t.campaign_id, t.start_week,
           ROW_NUMBER() OVER (PARTITION BY m.customer_id
                              ORDER BY t.start_week, t.campaign_id) AS k
    FROM campaign_members m
    JOIN of_type t ON m.campaign_id = t.campaign_id
    JOIN households h ON m.customer_id = h.customer_id
),
treated AS (
    SELECT customer_id, start_week AS index_week, campaign_id AS index_campaign_id
    FROM targeted WHERE k = 1
),
n_treated AS (
    SELECT COUNT(*) AS n FROM treated
),
-- The treated index weeks in ascending order, as ranges of 0-based positions [lo, hi).
week_counts AS (
    SELECT index_week, COUNT(*) AS n FROM treated GROUP BY index_week
),
week_ranges AS (
    SELECT index_week,
           SUM(n) OVER (ORDER BY index_week ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
               - n AS lo,
           SUM(n) OVER (ORDER BY index_week ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
               AS hi
    FROM week_counts
),
-- Controls: never targeted by the type. Each draws the floor(u * n)-th treated index week,
-- u the keyed uniform of salt:customer_id.
controls AS (
    SELECT h.customer_id,
           sha2(CONCAT(p.salt, ':', CAST(h.customer_id AS STRING)), 256) AS digest
    FROM households h
    CROSS JOIN params p
    LEFT JOIN treated t ON h.customer_id = t.customer_id
    WHERE t.customer_id IS NULL
),
control_positions AS (
    SELECT c.customer_id,
           LEAST(CAST(FLOOR(KEYED_UNIFORM(c.digest) * CAST(n.n AS DOUBLE)) AS BIGINT),
                 n.n - 1) AS position
    FROM controls c CROSS JOIN n_treated n
),
drawn AS (
    SELECT /*+ BROADCAST(w) */ c.customer_id, w.index_week
    FROM control_positions c
    JOIN week_ranges w ON c.position >= w.lo AND c.position < w.hi
),
indexed AS (
    SELECT t.customer_id, 1 AS treatment, t.index_week, t.index_campaign_id
    FROM treated t
    UNION ALL
    SELECT d.customer_id, 0 AS treatment, d.index_week, CAST(-1 AS BIGINT) AS index_campaign_id
    FROM drawn d
)
SELECT i.customer_id, i.treatment,
       CAST(i.index_week AS BIGINT) AS index_week,
       CAST(i.index_campaign_id AS BIGINT) AS index_campaign_id,
       h.first_purchase_week,
       -- the first day of the index week (WeekCalendar.first_day_sql, rollout/data/weeks.py)
       FIRST_DAY_OF_WEEK(i.index_week) AS index_day,
       -- attrition, in this order: the outcome window runs past the end of the data; the
       -- pre-period window starts before the data; no purchase before the index week
       CASE WHEN i.index_week + p.window_weeks <= p.last_week THEN 1 ELSE 0 END AS keep_post,
       CASE WHEN i.index_week - (p.window_weeks + 1) >= p.first_week THEN 1 ELSE 0 END
           AS keep_pre,
       CASE WHEN h.first_purchase_week < i.index_week THEN 1 ELSE 0 END AS keep_purchase
FROM indexed i
JOIN households h ON i.customer_id = h.customer_id
CROSS JOIN params p
