/* Shared by the peers on liblmdb (lmdb_raw, writebehind): errors, and the end-of-run sums. */
#ifndef HEADROOM_PEERS_LMDB_COMMON_H
#define HEADROOM_PEERS_LMDB_COMMON_H

#include "common.h"
#include <lmdb.h>

#define CHECK(rc, what) do { int _rc = (rc); if (_rc) { fprintf(stderr, "%s: %s\n", what, mdb_strerror(_rc)); exit(3); } } while (0)

/* Adds to `have`, per kind, what the counter cells hold (a read transaction of its own). */
static inline void lmdb_totals(MDB_env *env, MDB_dbi counters, totals_t *have) {
    MDB_txn *t; CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &t), "begin");
    MDB_cursor *c; CHECK(mdb_cursor_open(t, counters, &c), "cursor");
    MDB_val k, v;
    while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0) {
        uint64_t key; int64_t cell[2]; memcpy(&key, k.mv_data, 8); memcpy(cell, v.mv_data, 16);
        have->amount[key_kind(key)] += cell[0]; have->count[key_kind(key)] += cell[1];
    }
    mdb_cursor_close(c); mdb_txn_abort(t);
}

#endif
