-- The bundled example warehouse: an orders fact table whose net revenue was
-- overstated because refunds were never joined, plus its sources, a customer
-- dimension and a monthly revenue mart built on top of it.
--
-- Deterministic: the same file always builds the same rows, so fingerprints in
-- the docs and tests stay valid. Build it with:
--   sqlite3 warehouse.db < examples/warehouse/build.sql
-- and grow it to 300,000 orders for a benchmark with:
--   sqlite3 warehouse.db < examples/warehouse/grow.sql
-- 260,000 generated orders (ids 100001..360000) span 2024-12-01 to 2025-06-30
-- (UTC); the example brief backfills 2025-01-01 to 2025-06-01 in
-- America/New_York, so rows before 2025-01-01 00:00 EST (05:00 UTC) and from
-- 2025-06-01 00:00 EDT (04:00 UTC) on are outside the scope and must not
-- change.
--
-- On top of them, 128 hand-placed orders (ids 9xxxxx, listed with their local
-- times in the `traps` table below) carry the traps real data has. Every one of
-- them has at least one refund, so a job that touches one it should not shows.
--   900001..900010  daylight saving days in America/New_York: 2025-03-09
--                   (spring forward; 01:59 EST, then 03:00 EDT) and, out of
--                   scope, 2024-11-03 (fall back; 01:30 EDT and 01:30 EST are
--                   two orders an hour apart: 900008, 900009).
--   910001..910084  within minutes of local midnight at every weekly batch
--                   boundary (2025-01-08 .. 2025-05-28): 1 minute before, at,
--                   1 and 59 minutes after. Batching by UTC days, or with the
--                   winter offset in summer, puts them in the wrong batch.
--   920001..920008  several refunds on one order (3, 4 or 5 each); 920003 is
--                   also on the spring-forward day, 920006 on the last evening
--                   of the scope (next day in UTC); 920007 and 920008 are out
--                   of scope.
--   930001..930014  month ends that differ between UTC and New York: 21:30
--                   and 23:59 local on the last day of each month from
--                   2024-12 to 2025-06, which is already the next month in
--                   UTC (930003: 2025-01-31 21:30 EST = 2025-02-01 02:30 UTC;
--                   930011, 930012: 2025-05-31 in New York, June in UTC, in
--                   scope). 930001, 930002 (2024-12-31) and 930013, 930014
--                   (2025-06-30) are out of scope.
--   940001..940004  the scope's edges in local time: 940001 one second
--                   before the start (out), 940002 exactly 2025-01-01 00:00
--                   EST (in), 940003 one second before the end (in), 940004
--                   exactly 2025-06-01 00:00 EDT (out).
--   950001..950008  around the scope in UTC: 950001..950003 are 2025-01-01
--                   00:00, 03:00 and 04:59 UTC, still 2024-12-31 in New York
--                   (out); 950004 is 2025-06-01 00:00 UTC, still May 31 in New
--                   York (in); 950005, 950006 are June 1 in New York (out);
--                   950007, 950008 are mid-December and mid-June (out).
-- Of the 128, 109 are in scope and 19 are not.
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

-- The indexes a batch job reads by: a time range of orders, refunds by order.
CREATE INDEX raw_orders_ts ON raw_orders (order_ts);
CREATE INDEX raw_refunds_order ON raw_refunds (order_id);

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

-- The traps (see the header): order id, UTC unix time, number of refunds and
-- the local time in America/New_York.
CREATE TEMP TABLE traps (order_id INTEGER PRIMARY KEY, order_ts INTEGER NOT NULL,
                         refunds INTEGER NOT NULL, note TEXT NOT NULL);
INSERT INTO traps VALUES
    (900001, 1741496400, 1, '2025-03-09 00:00 EST, spring-forward day'),
    (900002, 1741503540, 1, '2025-03-09 01:59 EST, last minute before the skipped hour'),
    (900003, 1741503600, 1, '2025-03-09 03:00 EDT, first minute after the skipped hour'),
    (900004, 1741505400, 1, '2025-03-09 03:30 EDT'),
    (900005, 1741579140, 1, '2025-03-09 23:59 EDT, next day in UTC'),
    (900006, 1741579200, 1, '2025-03-10 00:00 EDT'),
    (900007, 1730608200, 1, '2024-11-03 00:30 EDT, fall-back day (out of scope)'),
    (900008, 1730611800, 1, '2024-11-03 01:30 EDT, first pass of the repeated hour (out of scope)'),
    (900009, 1730615400, 1, '2024-11-03 01:30 EST, second pass of the repeated hour (out of scope)'),
    (900010, 1730696340, 1, '2024-11-03 23:59 EST (out of scope)'),
    (910001, 1736312340, 1, '-1 min local midnight 2025-01-08'),
    (910002, 1736312400, 1, 'at local midnight 2025-01-08'),
    (910003, 1736312460, 1, '+1 min local midnight 2025-01-08'),
    (910004, 1736315940, 1, '+59 min local midnight 2025-01-08'),
    (910005, 1736917140, 1, '-1 min local midnight 2025-01-15'),
    (910006, 1736917200, 1, 'at local midnight 2025-01-15'),
    (910007, 1736917260, 1, '+1 min local midnight 2025-01-15'),
    (910008, 1736920740, 1, '+59 min local midnight 2025-01-15'),
    (910009, 1737521940, 1, '-1 min local midnight 2025-01-22'),
    (910010, 1737522000, 1, 'at local midnight 2025-01-22'),
    (910011, 1737522060, 1, '+1 min local midnight 2025-01-22'),
    (910012, 1737525540, 1, '+59 min local midnight 2025-01-22'),
    (910013, 1738126740, 1, '-1 min local midnight 2025-01-29'),
    (910014, 1738126800, 1, 'at local midnight 2025-01-29'),
    (910015, 1738126860, 1, '+1 min local midnight 2025-01-29'),
    (910016, 1738130340, 1, '+59 min local midnight 2025-01-29'),
    (910017, 1738731540, 1, '-1 min local midnight 2025-02-05'),
    (910018, 1738731600, 1, 'at local midnight 2025-02-05'),
    (910019, 1738731660, 1, '+1 min local midnight 2025-02-05'),
    (910020, 1738735140, 1, '+59 min local midnight 2025-02-05'),
    (910021, 1739336340, 1, '-1 min local midnight 2025-02-12'),
    (910022, 1739336400, 1, 'at local midnight 2025-02-12'),
    (910023, 1739336460, 1, '+1 min local midnight 2025-02-12'),
    (910024, 1739339940, 1, '+59 min local midnight 2025-02-12'),
    (910025, 1739941140, 1, '-1 min local midnight 2025-02-19'),
    (910026, 1739941200, 1, 'at local midnight 2025-02-19'),
    (910027, 1739941260, 1, '+1 min local midnight 2025-02-19'),
    (910028, 1739944740, 1, '+59 min local midnight 2025-02-19'),
    (910029, 1740545940, 1, '-1 min local midnight 2025-02-26'),
    (910030, 1740546000, 1, 'at local midnight 2025-02-26'),
    (910031, 1740546060, 1, '+1 min local midnight 2025-02-26'),
    (910032, 1740549540, 1, '+59 min local midnight 2025-02-26'),
    (910033, 1741150740, 1, '-1 min local midnight 2025-03-05'),
    (910034, 1741150800, 1, 'at local midnight 2025-03-05'),
    (910035, 1741150860, 1, '+1 min local midnight 2025-03-05'),
    (910036, 1741154340, 1, '+59 min local midnight 2025-03-05'),
    (910037, 1741751940, 1, '-1 min local midnight 2025-03-12'),
    (910038, 1741752000, 1, 'at local midnight 2025-03-12'),
    (910039, 1741752060, 1, '+1 min local midnight 2025-03-12'),
    (910040, 1741755540, 1, '+59 min local midnight 2025-03-12'),
    (910041, 1742356740, 1, '-1 min local midnight 2025-03-19'),
    (910042, 1742356800, 1, 'at local midnight 2025-03-19'),
    (910043, 1742356860, 1, '+1 min local midnight 2025-03-19'),
    (910044, 1742360340, 1, '+59 min local midnight 2025-03-19'),
    (910045, 1742961540, 1, '-1 min local midnight 2025-03-26'),
    (910046, 1742961600, 1, 'at local midnight 2025-03-26'),
    (910047, 1742961660, 1, '+1 min local midnight 2025-03-26'),
    (910048, 1742965140, 1, '+59 min local midnight 2025-03-26'),
    (910049, 1743566340, 1, '-1 min local midnight 2025-04-02'),
    (910050, 1743566400, 1, 'at local midnight 2025-04-02'),
    (910051, 1743566460, 1, '+1 min local midnight 2025-04-02'),
    (910052, 1743569940, 1, '+59 min local midnight 2025-04-02'),
    (910053, 1744171140, 1, '-1 min local midnight 2025-04-09'),
    (910054, 1744171200, 1, 'at local midnight 2025-04-09'),
    (910055, 1744171260, 1, '+1 min local midnight 2025-04-09'),
    (910056, 1744174740, 1, '+59 min local midnight 2025-04-09'),
    (910057, 1744775940, 1, '-1 min local midnight 2025-04-16'),
    (910058, 1744776000, 1, 'at local midnight 2025-04-16'),
    (910059, 1744776060, 1, '+1 min local midnight 2025-04-16'),
    (910060, 1744779540, 1, '+59 min local midnight 2025-04-16'),
    (910061, 1745380740, 1, '-1 min local midnight 2025-04-23'),
    (910062, 1745380800, 1, 'at local midnight 2025-04-23'),
    (910063, 1745380860, 1, '+1 min local midnight 2025-04-23'),
    (910064, 1745384340, 1, '+59 min local midnight 2025-04-23'),
    (910065, 1745985540, 1, '-1 min local midnight 2025-04-30'),
    (910066, 1745985600, 1, 'at local midnight 2025-04-30'),
    (910067, 1745985660, 1, '+1 min local midnight 2025-04-30'),
    (910068, 1745989140, 1, '+59 min local midnight 2025-04-30'),
    (910069, 1746590340, 1, '-1 min local midnight 2025-05-07'),
    (910070, 1746590400, 1, 'at local midnight 2025-05-07'),
    (910071, 1746590460, 1, '+1 min local midnight 2025-05-07'),
    (910072, 1746593940, 1, '+59 min local midnight 2025-05-07'),
    (910073, 1747195140, 1, '-1 min local midnight 2025-05-14'),
    (910074, 1747195200, 1, 'at local midnight 2025-05-14'),
    (910075, 1747195260, 1, '+1 min local midnight 2025-05-14'),
    (910076, 1747198740, 1, '+59 min local midnight 2025-05-14'),
    (910077, 1747799940, 1, '-1 min local midnight 2025-05-21'),
    (910078, 1747800000, 1, 'at local midnight 2025-05-21'),
    (910079, 1747800060, 1, '+1 min local midnight 2025-05-21'),
    (910080, 1747803540, 1, '+59 min local midnight 2025-05-21'),
    (910081, 1748404740, 1, '-1 min local midnight 2025-05-28'),
    (910082, 1748404800, 1, 'at local midnight 2025-05-28'),
    (910083, 1748404860, 1, '+1 min local midnight 2025-05-28'),
    (910084, 1748408340, 1, '+59 min local midnight 2025-05-28'),
    (920001, 1737392400, 3, '2025-01-20 12:00 local, 3 refunds'),
    (920002, 1739542500, 4, '2025-02-14 09:15 local, 4 refunds'),
    (920003, 1741504500, 5, '2025-03-09 03:15 local, 5 refunds'),
    (920004, 1743544800, 3, '2025-04-01 18:00 local, 3 refunds'),
    (920005, 1746445500, 4, '2025-05-05 07:45 local, 4 refunds'),
    (920006, 1748743800, 5, '2025-05-31 22:10 local, 5 refunds'),
    (920007, 1734714000, 4, '2024-12-20 12:00 local, 4 refunds (out of scope)'),
    (920008, 1749571200, 3, '2025-06-10 12:00 local, 3 refunds (out of scope)'),
    (930001, 1735698600, 1, '2024-12-31 21:30 local = 2025-01-01 02:30 UTC (out of scope)'),
    (930002, 1735707540, 1, '2024-12-31 23:59 local = 2025-01-01 04:59 UTC (out of scope)'),
    (930003, 1738377000, 1, '2025-01-31 21:30 local = 2025-02-01 02:30 UTC'),
    (930004, 1738385940, 1, '2025-01-31 23:59 local = 2025-02-01 04:59 UTC'),
    (930005, 1740796200, 1, '2025-02-28 21:30 local = 2025-03-01 02:30 UTC'),
    (930006, 1740805140, 1, '2025-02-28 23:59 local = 2025-03-01 04:59 UTC'),
    (930007, 1743471000, 1, '2025-03-31 21:30 local = 2025-04-01 01:30 UTC'),
    (930008, 1743479940, 1, '2025-03-31 23:59 local = 2025-04-01 03:59 UTC'),
    (930009, 1746063000, 1, '2025-04-30 21:30 local = 2025-05-01 01:30 UTC'),
    (930010, 1746071940, 1, '2025-04-30 23:59 local = 2025-05-01 03:59 UTC'),
    (930011, 1748741400, 1, '2025-05-31 21:30 local = 2025-06-01 01:30 UTC'),
    (930012, 1748750340, 1, '2025-05-31 23:59 local = 2025-06-01 03:59 UTC'),
    (930013, 1751333400, 1, '2025-06-30 21:30 local = 2025-07-01 01:30 UTC (out of scope)'),
    (930014, 1751342340, 1, '2025-06-30 23:59 local = 2025-07-01 03:59 UTC (out of scope)'),
    (940001, 1735707599, 1, '2024-12-31 23:59:59 EST, one second before the start (out of scope)'),
    (940002, 1735707600, 1, '2025-01-01 00:00:00 EST, exactly the start (in scope)'),
    (940003, 1748750399, 1, '2025-05-31 23:59:59 EDT, one second before the end (in scope)'),
    (940004, 1748750400, 1, '2025-06-01 00:00:00 EDT, exactly the end (out of scope)'),
    (950001, 1735689600, 1, '2025-01-01 00:00 UTC = 2024-12-31 19:00 EST (out of scope)'),
    (950002, 1735700400, 1, '2025-01-01 03:00 UTC = 2024-12-31 22:00 EST (out of scope)'),
    (950003, 1735707540, 1, '2025-01-01 04:59 UTC = 2024-12-31 23:59 EST (out of scope)'),
    (950004, 1748736000, 1, '2025-06-01 00:00 UTC = 2025-05-31 20:00 EDT (in scope: the UTC day is out, the local day in)'),
    (950005, 1748750400, 1, '2025-06-01 04:00 UTC = 2025-06-01 00:00 EDT (out of scope)'),
    (950006, 1748754000, 1, '2025-06-01 05:00 UTC = 2025-06-01 01:00 EDT (out of scope)'),
    (950007, 1734282000, 1, '2024-12-15 12:00 EST (out of scope)'),
    (950008, 1750003200, 1, '2025-06-15 12:00 EDT (out of scope)');

INSERT INTO raw_orders
SELECT order_id, 1 + (order_id * 2654435761) % 5000, order_ts,
       round(50 + (order_id % 97) * 1.5, 2)
FROM traps;

-- Refund j of a trap order is (5 + 3j)% of its gross: 8% for a single refund,
-- 8+11+14+17+20 = 70% for five.
WITH RECURSIVE j(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM j WHERE n < 5)
INSERT INTO raw_refunds (order_id, amount)
SELECT o.order_id, round(o.gross * (5 + 3 * j.n) / 100.0, 2)
FROM traps t JOIN raw_orders o ON o.order_id = t.order_id JOIN j ON j.n <= t.refunds
ORDER BY o.order_id, j.n;

-- The bug being repaired: the fact table was built without the refunds.
INSERT INTO fct_orders
SELECT order_id, customer_id, order_ts, gross, 0, gross FROM raw_orders;

INSERT INTO mart_monthly_revenue
SELECT strftime('%Y-%m', order_ts, 'unixepoch'), round(sum(net_revenue), 2)
FROM fct_orders GROUP BY 1;

DROP TABLE traps;
COMMIT;

-- Statistics, as a warehouse keeps them. Without them SQLite answers the job's
-- GROUP BY o.order_id by reading raw_orders whole in key order for every batch,
-- instead of the batch's own range through raw_orders_ts.
ANALYZE raw_orders;
ANALYZE raw_refunds;
