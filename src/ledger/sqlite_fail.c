/*
 * How the SQLite store reports a failure: SQLite's result code mapped to a
 * BF_E_* code, with a message naming the ledger file. The lowest of the
 * store's files, used by all of them; it calls no other ledger file.
 */
#include "common/internal.h"
#include "ledger/sqlite_store.h"

int sq_fail(sq_store *s, int rc, const char *doing)
{
    const char *path = s && s->path ? s->path : "?";
    const char *msg = s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);

    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        return bf__nomem();
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return bf__error(BF_E_BUSY, "ledger %s: %s: still locked by another writer (%s)", path,
                         doing, msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return bf__error(BF_E_PARSE, "ledger %s: %s: not a readable SQLite database, corrupt or "
                         "another kind of file (%s)", path, doing, msg);
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_IOERR:
    case SQLITE_FULL:
        return bf__error(BF_E_IO, "ledger %s: %s: %s", path, doing, msg);
    default:
        return bf__error(BF_E_INTERNAL, "ledger %s: %s: %s", path, doing, msg);
    }
}
