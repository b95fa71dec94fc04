-- Grows the example warehouse built by build.sql to exactly 300,000 orders,
-- for benchmarks. Deterministic, like build.sql:
--   sqlite3 warehouse.db < examples/warehouse/build.sql
--   sqlite3 warehouse.db < examples/warehouse/grow.sql
-- The new orders (ids from 400001) are spread over the same seven months
-- (2024-12-01 .. 2025-06-30 UTC) between the existing ones, about one in eight
-- with a refund, and go into fct_orders without their refunds, like the rest.
-- Running it again on a grown warehouse adds nothing. With 300,000 orders the
-- example brief's scope holds about 214,000 rows, still inside its
-- expected_rows (150,000 .. 250,000).
BEGIN;

CREATE TEMP TABLE grow AS
WITH RECURSIVE n(i) AS (
    SELECT 1 WHERE (SELECT count(*) FROM raw_orders) < 300000
    UNION ALL
    SELECT i + 1 FROM n WHERE i < 300000 - (SELECT count(*) FROM raw_orders))
SELECT i FROM n;

INSERT INTO raw_orders
SELECT 400000 + i,
       1 + (i * 2246822519) % 5000,
       1733011200 + 35 + (i - 1) * 18316800 / (SELECT count(*) FROM grow) + (i * 40503) % 30,
       round(5 + ((i * 2654435761) % 19500) / 100.0, 2)
FROM grow
WHERE NOT EXISTS (SELECT 1 FROM raw_orders WHERE order_id BETWEEN 400001 AND 499999);

INSERT INTO raw_refunds (order_id, amount)
SELECT order_id, round(gross * (10 + (order_id * 7919) % 51) / 100.0, 2)
FROM raw_orders
WHERE order_id BETWEEN 400001 AND 499999 AND (order_id * 2654435761) % 8 = 0
  AND order_id NOT IN (SELECT order_id FROM fct_orders);

INSERT INTO fct_orders
SELECT order_id, customer_id, order_ts, gross, 0, gross FROM raw_orders
WHERE order_id NOT IN (SELECT order_id FROM fct_orders);

DELETE FROM mart_monthly_revenue;
INSERT INTO mart_monthly_revenue
SELECT strftime('%Y-%m', order_ts, 'unixepoch'), round(sum(net_revenue), 2)
FROM fct_orders GROUP BY 1;

DROP TABLE grow;
COMMIT;

-- Statistics, as a warehouse keeps them. Without them SQLite answers the job's
-- GROUP BY o.order_id by reading raw_orders whole in key order for every batch,
-- instead of the batch's own range through raw_orders_ts.
ANALYZE raw_orders;
ANALYZE raw_refunds;
