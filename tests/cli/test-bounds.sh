#!/bin/sh
# A batch writes only rows of its own bounds: a bucket brief whose job buckets by hand
# (id % :buckets) instead of the driver's bf_bucket() is refused before anything is written,
# and the corrected brief's run, its coverage and backfill validate's agree.
set -eu
. "$(dirname "$0")/tap.sh"
plan 16

W="$work/w.db"
L="$work/w.ledger"
sqlite3 "$W" "CREATE TABLE tgt (id INTEGER PRIMARY KEY, amount REAL, note TEXT);
CREATE TABLE src (id INTEGER PRIMARY KEY, amount REAL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
INSERT INTO tgt SELECT i, i * 2.0, 'n' || i FROM n;
INSERT INTO src SELECT id, CASE WHEN id % 3 = 0 THEN amount / 2 ELSE amount END FROM tgt;"

# brief NAME BUCKET-PREDICATE: a merge by bucket of id into tgt, with coverage.
brief() {
    cat > "$work/$1.json" <<JSON
{"format": "backfill-brief/1", "name": "$1", "reason": "amount was doubled for every third id",
 "owner": "ana@example.com", "reviewer": "raj@example.com", "risk": "enrichment", "code_version": "git:1",
 "target": {"table": "tgt", "key": ["id"], "columns": ["amount"]}, "sources": ["src"],
 "scope": {"buckets": {"column": "id", "count": 7}},
 "batching": {"by": "bucket", "max_attempts": 1},
 "write": {"strategy": "merge", "snapshot": true},
 "job": {"select": "SELECT t.id, s.amount, t.note FROM src s JOIN tgt t USING (id) WHERE $2"},
 "validation": [{"check": "unique"}, {"check": "coverage"}],
 "rollback": {"plan": "snapshots", "owner": "ana@example.com"}}
JSON
}
fp() { "$BACKFILL" fingerprint tgt --warehouse "$W"; }

# --- bucketing by hand: every batch is refused, nothing is written --------------------------
brief by-hand "s.id % :buckets = :bucket"
before=$(fp)
run "$BACKFILL" test-slice "$work/by-hand.json" --warehouse "$W" --ledger "$L"
expect_rc 3 "the test slice fails the job that buckets by hand"
expect_grep "$work/out" "^  failed: the publish refused the job's rows: batch bucket 0/7 of tgt__bf_slice: [0-9]+ staged rows lie outside the batch's bounds; a bucket batch holds the rows with bf_bucket\(id, :buckets\) = :bucket" "and says why, for each batch"
run "$BACKFILL" test-slice "$work/by-hand.json" --warehouse "$W" --ledger "$L" --json
expect_grep "$work/out" '"status": "validation_failed"' "its JSON says the validation failed"
run "$BACKFILL" run "$work/by-hand.json" --warehouse "$W" --ledger "$L"
expect_rc 4 "a run whose batches select other rows than their bucket's fails"
expect_grep "$work/out" "batch bucket 0/7 of tgt: [0-9]+ staged rows lie outside the batch's bounds; a bucket batch holds the rows with bf_bucket\(id, :buckets\) = :bucket, and the job must select its rows with that predicate" "the refusal names the batch, the table, the rows and the predicate"
n=$(grep -c "batch_failed bucket [0-6]/7: publish: batch bucket" "$work/out" || true)
[ "$n" = 7 ] && ok "every batch is refused" || not_ok "refused batches: $n" "$(cat "$work/out")"
[ "$(fp)" = "$before" ] && ok "nothing was written" || not_ok "tgt changed"

# --- with bf_bucket(): the run's coverage and backfill validate's agree ---------------------
brief by-bucket "bf_bucket(s.id, :buckets) = :bucket"
run "$BACKFILL" run "$work/by-bucket.json" --warehouse "$W" --ledger "$L"
expect_rc 0 "the corrected brief's run awaits approval"
r=$(sqlite3 "$L" "SELECT passed FROM validations v JOIN runs r ON r.id = v.run_id
                  WHERE r.brief_name = 'by-bucket' AND v.batch_id = 0")
[ "$r" = 1 ] && ok "the run's own coverage passed" || not_ok "run-level validation recorded: $r"
run "$BACKFILL" validate by-bucket --ledger "$L" --warehouse "$W"
expect_rc 0 "backfill validate passes the same run"
expect_grep "$work/out" "^pass +run coverage: check coverage: 0 of 7 planned batches not validated, 0 gaps or overlaps in the plan, 0 batches whose bounds hold other than the rows they wrote" "coverage agrees, though each merge wrote only the rows that changed"

# --- a row another writer removes from a bucket after the run: coverage sees it -------------
sqlite3 "$W" "DELETE FROM tgt WHERE id = 5"
run "$BACKFILL" validate by-bucket --ledger "$L" --warehouse "$W"
expect_rc 3 "a batch's bounds changed since it published: validate fails"
expect_grep "$work/out" "^fail +run coverage: .*, 1 batches whose bounds hold other than the rows they wrote" "coverage names one batch"
# Its rollback is refused, without claiming to know who changed the rows.
run "$BACKFILL" rollback by-bucket --ledger "$L" --warehouse "$W"
expect_rc 3 "the rollback of a run whose rows changed since is refused"
expect_grep "$work/out" "changed since it published \(fingerprint [0-9]+:[0-9a-f]+, was [0-9]+:[0-9a-f]+\): a later batch of this run or another writer changed them, so the undo cannot be exact; nothing was restored" "the refusal says the rows changed since the batch published, by whom it cannot know"
n=$(sqlite3 "$L" "SELECT count(*) FROM batches b JOIN runs r ON r.id = b.run_id
                  WHERE r.brief_name = 'by-bucket'
                  AND b.rows_written < CAST(substr(b.fp_after, 1, instr(b.fp_after, ':') - 1) AS INTEGER)")
[ "$n" = 7 ] && ok "each batch wrote fewer rows than its bounds held (the ones that changed)" || not_ok "batches: $n"
finish
