-- The bundled example warehouse: an orders fact table whose net revenue was
-- overstated because refunds were never joined, plus its sources, a customer
-- dimension and a monthly revenue mart built on top of it.
--
-- Deterministic: the same file always builds the same rows, so fingerprints in
-- the docs and tests stay valid. Build it with:
--   sqlite3 warehouse.db < examples/warehouse/build.sql
-- Orders span 2024-12-01 to 2025-06-30 (UTC); the example brief backfills
-- 2025-01-01 to 2025-06-01 in America/New_York, so December and June rows are
-- outside the scope and must not change.
BEGIN;

CREATE TABLE dim_customers (
    customer_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    region TEXT NOT NULL
);

CREATE TABLE raw_orders (
    order_id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    order_ts INTEGER NOT NULL,   -- unix seconds, UTC
    gross REAL NOT NULL
);

CREATE TABLE raw_refunds (
    refund_id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL,
    amount REAL NOT NULL
);

CREATE TABLE fct_orders (
    order_id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    order_ts INTEGER NOT NULL,
    gross REAL NOT NULL,
    refund_amount REAL NOT NULL,
    net_revenue REAL NOT NULL
);
CREATE INDEX fct_orders_ts ON fct_orders (order_ts);

CREATE TABLE mart_monthly_revenue (
    month TEXT PRIMARY KEY,
    net_revenue REAL NOT NULL
);

-- 5,000 customers in four regions.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
INSERT INTO dim_customers
SELECT i, printf('customer %04d', i),
       CASE i % 4 WHEN 0 THEN 'emea' WHEN 1 THEN 'amer' WHEN 2 THEN 'apac' ELSE 'latam' END
FROM n;

-- 260,000 orders spread evenly over 2024-12-01 .. 2025-06-30 UTC, with
-- multiplicative hashing standing in for randomness.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 260000)
INSERT INTO raw_orders
SELECT 100000 + i,
       1 + (i * 2654435761) % 5000,
       1733011200 + (i - 1) * 18316800 / 260000 + (i * 40503) % 60,
       round(5 + ((i * 2246822519) % 19500) / 100.0, 2)
FROM n;

-- About one order in eight has a refund of 10% to 60% of its gross; a few
-- orders have two refunds.
INSERT INTO raw_refunds (order_id, amount)
SELECT order_id, round(gross * (10 + (order_id * 7919) % 51) / 100.0, 2)
FROM raw_orders WHERE (order_id * 2654435761) % 8 = 0;
INSERT INTO raw_refunds (order_id, amount)
SELECT order_id, round(gross * 0.05, 2)
FROM raw_orders WHERE (order_id * 2654435761) % 97 = 0;

-- The bug being repaired: the fact table was built without the refunds.
INSERT INTO fct_orders
SELECT order_id, customer_id, order_ts, gross, 0, gross FROM raw_orders;

INSERT INTO mart_monthly_revenue
SELECT strftime('%Y-%m', order_ts, 'unixepoch'), round(sum(net_revenue), 2)
FROM fct_orders GROUP BY 1;

COMMIT;
