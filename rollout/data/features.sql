-- Cohort features: pre-treatment covariates, pre-period outcomes, outcomes and window discounts.
--
-- One row per household of cohort_index. Portable SQL: the same text runs on DuckDB and on Spark
-- SQL (common table expressions, CASE, COALESCE, COUNT(DISTINCT), LAG, SQRT, CAST to DECIMAL and
-- DOUBLE; no engine-specific functions). Money is summed as DECIMAL(18, 2) so that totals are
-- exact and do not depend on the order in which parallel threads add them up; ratios are taken
-- in DOUBLE at the end. Gap statistics use exact integer sums for the same reason.
--
-- Inputs (tidy tables, see rollout/data/history.py): transactions, products, promotions, coupons,
-- coupon_redemptions; and from the design: cohort_index (customer_id, treatment, index_week,
-- index_day = first day of the index week), index_campaigns (customer_id, campaign_id),
-- design_params (one row: window_weeks, first_week).
--
-- Periods: pre-period = every week of data before the index week; pre-period window = the
-- window_weeks + 1 weeks just before the index week; outcome window = the index week and the
-- window_weeks weeks after it.
WITH
params AS (
    SELECT window_weeks, first_week FROM design_params
),
cohort AS (
    SELECT ci.customer_id, ci.index_week, ci.index_day,
           ci.index_week - p.first_week AS pre_weeks, p.window_weeks
    FROM cohort_index ci CROSS JOIN params p
),
lines AS (
    SELECT c.customer_id, c.index_week, c.window_weeks,
           t.basket_id, t.product_id, t.store_id, t.day_no, t.week_no,
           CAST(t.sales_value AS DECIMAL(18, 2)) AS sales,
           CAST(t.retail_disc AS DECIMAL(18, 2)) AS retail_disc,
           CAST(t.coupon_disc AS DECIMAL(18, 2)) AS coupon_disc,
           CAST(t.coupon_match_disc AS DECIMAL(18, 2)) AS coupon_match_disc
    FROM transactions t JOIN cohort c ON t.customer_id = c.customer_id
),
pre_keys AS (
    SELECT DISTINCT product_id, store_id, week_no FROM lines WHERE week_no < index_week
),
-- The promotions table may list a (product, store, week) more than once: collapse it to one row
-- per key before joining, or a purchase would count once per listing.
promo AS (
    SELECT p.product_id, p.store_id, p.week_no,
           MAX(p.on_display) AS on_display, MAX(p.in_mailer) AS in_mailer
    FROM promotions p
    JOIN pre_keys k
      ON p.product_id = k.product_id AND p.store_id = k.store_id AND p.week_no = k.week_no
    GROUP BY p.product_id, p.store_id, p.week_no
),
pre_lines AS (
    SELECT l.customer_id, l.basket_id, l.product_id, l.store_id, l.day_no, l.week_no,
           l.sales, l.retail_disc, l.coupon_disc,
           pr.department, pr.brand, pr.category,
           COALESCE(pm.on_display, 0) AS on_display, COALESCE(pm.in_mailer, 0) AS in_mailer
    FROM lines l
    LEFT JOIN products pr ON l.product_id = pr.product_id
    LEFT JOIN promo pm
      ON l.product_id = pm.product_id AND l.store_id = pm.store_id AND l.week_no = pm.week_no
    WHERE l.week_no < l.index_week
),
pre_agg AS (
    SELECT customer_id,
           COUNT(*) AS n_lines,
           COUNT(DISTINCT basket_id) AS frequency,
           COUNT(DISTINCT week_no) AS active_weeks,
           COUNT(DISTINCT store_id) AS n_stores,
           COUNT(DISTINCT department) AS n_departments,
           COUNT(DISTINCT product_id) AS n_products,
           MAX(week_no) AS last_week,
           MIN(day_no) AS first_day,
           MAX(day_no) AS last_day,
           COUNT(DISTINCT day_no) AS n_days,
           SUM(sales) AS sales,
           SUM(retail_disc) AS retail_disc,
           COUNT(DISTINCT CASE WHEN coupon_disc > 0 THEN basket_id END) AS coupon_baskets,
           SUM(CASE WHEN brand = 'Private' THEN sales ELSE 0 END) AS private_sales,
           SUM(CASE WHEN department = 'GROCERY' THEN sales ELSE 0 END) AS grocery_sales,
           SUM(CASE WHEN department IN ('PRODUCE', 'MEAT', 'MEAT-PCKGD', 'DELI', 'SEAFOOD',
                                        'SEAFOOD-PCKGD', 'SALAD BAR', 'PASTRY')
                    THEN sales ELSE 0 END) AS fresh_sales,
           SUM(CASE WHEN department = 'COSMETICS'
                      OR category IN ('HAIR CARE PRODUCTS', 'HAIR CARE ACCESSORIES',
                                      'ORAL HYGIENE PRODUCTS', 'SOAP - LIQUID & BAR',
                                      'HAND/BODY/FACIAL PRODUCTS', 'SHAVING CARE PRODUCTS',
                                      'DEODORANTS', 'FEMININE HYGIENE', 'ANALGESICS',
                                      'COLD AND FLU', 'SINUS AND ALLERGY', 'ANTACIDS',
                                      'VITAMINS', 'DIETARY AID PRODUCTS', 'FIRST AID PRODUCTS',
                                      'EYE AND EAR CARE PRODUCTS', 'LAXATIVES',
                                      'FOOT CARE PRODUCTS', 'FAMILY PLANNING',
                                      'ADULT INCONTINENCE', 'BABY HBC')
                    THEN sales ELSE 0 END) AS health_beauty_sales,
           SUM(CASE WHEN department IN ('FUEL', 'KIOSK-GAS') THEN sales ELSE 0 END)
               AS fuel_sales,
           SUM(CASE WHEN category LIKE 'FRZN%' OR category LIKE 'FROZEN%'
                      OR category LIKE 'ICE CREAM%'
                    THEN sales ELSE 0 END) AS frozen_sales,
           SUM(on_display) AS display_lines,
           SUM(in_mailer) AS mailer_lines
    FROM pre_lines
    GROUP BY customer_id
),
purchase_days AS (
    SELECT DISTINCT customer_id, day_no FROM pre_lines
),
gaps AS (
    SELECT customer_id,
           day_no - LAG(day_no) OVER (PARTITION BY customer_id ORDER BY day_no) AS gap
    FROM purchase_days
),
gap_stats AS (
    SELECT customer_id, COUNT(gap) AS n_gaps, SUM(gap) AS sum_gap, SUM(gap * gap) AS sum_gap_sq
    FROM gaps
    GROUP BY customer_id
),
outcome_window AS (
    SELECT customer_id,
           SUM(sales) AS amount,
           COUNT(DISTINCT basket_id) AS baskets,
           SUM(retail_disc) AS retail_disc,
           SUM(coupon_disc + coupon_match_disc) AS coupon_disc
    FROM lines
    WHERE week_no >= index_week AND week_no <= index_week + window_weeks
    GROUP BY customer_id
),
pre_window AS (
    SELECT customer_id, SUM(sales) AS amount, COUNT(DISTINCT basket_id) AS baskets
    FROM lines
    WHERE week_no >= index_week - window_weeks - 1 AND week_no < index_week
    GROUP BY customer_id
),
-- Purchase lines paid partly with a coupon of the household's index campaign(s): the household
-- redeemed a coupon of that campaign on that day, and the coupon covers the product.
campaign_coupon_keys AS (
    SELECT DISTINCT r.customer_id, r.day_no, cp.product_id
    FROM coupon_redemptions r
    JOIN index_campaigns ic ON r.customer_id = ic.customer_id AND r.campaign_id = ic.campaign_id
    JOIN coupons cp ON cp.coupon_upc = r.coupon_upc AND cp.campaign_id = r.campaign_id
),
campaign_coupon AS (
    SELECT l.customer_id, SUM(l.coupon_disc + l.coupon_match_disc) AS coupon_disc
    FROM lines l
    JOIN campaign_coupon_keys k
      ON l.customer_id = k.customer_id AND l.day_no = k.day_no AND l.product_id = k.product_id
    WHERE l.week_no >= l.index_week AND l.week_no <= l.index_week + l.window_weeks
      AND l.coupon_disc > 0
    GROUP BY l.customer_id
)
SELECT
    c.customer_id,
    CAST(COALESCE(w.amount, 0) AS DOUBLE) AS purchase_amount,
    COALESCE(w.baskets, 0) AS purchase_count,
    -- RFM
    c.index_week - a.last_week AS recency_weeks,
    a.frequency AS frequency,
    CAST(a.frequency AS DOUBLE) / CAST(c.pre_weeks AS DOUBLE) AS frequency_per_week,
    CAST(a.sales AS DOUBLE) / CAST(c.pre_weeks AS DOUBLE) AS monetary_sales,
    CAST(a.sales AS DOUBLE) / CAST(a.frequency AS DOUBLE) AS monetary_avg_basket_sales,
    CASE WHEN a.n_days >= 2
         THEN CAST(a.last_day - a.first_day AS DOUBLE) / CAST(a.n_days - 1 AS DOUBLE)
         ELSE CAST(c.index_day - a.last_day AS DOUBLE) END AS days_between_purchases_avg,
    CASE WHEN g.n_gaps >= 2
         THEN 1.0 / (1.0 + SQRT(CAST(g.n_gaps * g.sum_gap_sq - g.sum_gap * g.sum_gap AS DOUBLE))
                         / CAST(g.sum_gap AS DOUBLE))
         ELSE 0.0 END AS purchase_regularity,
    a.active_weeks AS active_weeks,
    a.n_stores AS n_stores,
    -- behavioural
    CASE WHEN a.sales + a.retail_disc > 0
         THEN CAST(a.retail_disc AS DOUBLE) / CAST(a.sales + a.retail_disc AS DOUBLE)
         ELSE 0.0 END AS discount_rate,
    CAST(a.coupon_baskets AS DOUBLE) / CAST(a.frequency AS DOUBLE) AS coupon_rate,
    CASE WHEN a.sales > 0 THEN CAST(a.private_sales AS DOUBLE) / CAST(a.sales AS DOUBLE)
         ELSE 0.0 END AS private_label_ratio,
    a.n_departments AS n_departments,
    a.n_products AS n_products,
    -- category shares of pre-period sales
    CASE WHEN a.sales > 0 THEN CAST(a.grocery_sales AS DOUBLE) / CAST(a.sales AS DOUBLE)
         ELSE 0.0 END AS share_grocery,
    CASE WHEN a.sales > 0 THEN CAST(a.fresh_sales AS DOUBLE) / CAST(a.sales AS DOUBLE)
         ELSE 0.0 END AS share_fresh,
    CASE WHEN a.sales > 0 THEN CAST(a.health_beauty_sales AS DOUBLE) / CAST(a.sales AS DOUBLE)
         ELSE 0.0 END AS share_health_beauty,
    CASE WHEN a.sales > 0 THEN CAST(a.fuel_sales AS DOUBLE) / CAST(a.sales AS DOUBLE)
         ELSE 0.0 END AS share_fuel,
    CASE WHEN a.sales > 0 THEN CAST(a.frozen_sales AS DOUBLE) / CAST(a.sales AS DOUBLE)
         ELSE 0.0 END AS share_frozen,
    -- exposure: share of pre-period purchase lines on display / in the mailer
    CAST(a.display_lines AS DOUBLE) / CAST(a.n_lines AS DOUBLE) AS display_exposure_rate,
    CAST(a.mailer_lines AS DOUBLE) / CAST(a.n_lines AS DOUBLE) AS mailer_exposure_rate,
    -- pre-period window outcomes
    CAST(COALESCE(pw.amount, 0) AS DOUBLE) AS pre_purchase_amount,
    COALESCE(pw.baskets, 0) AS pre_purchase_count,
    -- discounts received in the outcome window (carried, not covariates)
    CAST(COALESCE(w.retail_disc, 0) AS DOUBLE) AS window_retail_disc,
    CAST(COALESCE(w.coupon_disc, 0) AS DOUBLE) AS window_coupon_disc,
    CAST(COALESCE(cc.coupon_disc, 0) AS DOUBLE) AS window_campaign_coupon_disc
FROM cohort c
JOIN pre_agg a ON c.customer_id = a.customer_id
LEFT JOIN gap_stats g ON c.customer_id = g.customer_id
LEFT JOIN outcome_window w ON c.customer_id = w.customer_id
LEFT JOIN pre_window pw ON c.customer_id = pw.customer_id
LEFT JOIN campaign_coupon cc ON c.customer_id = cc.customer_id
ORDER BY c.customer_id
