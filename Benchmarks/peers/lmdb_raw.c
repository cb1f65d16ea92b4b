/* The raw ceiling: the same counters, checks and idempotency records as the engine, directly on
 * liblmdb in C, no rules engine, no Swift. One write transaction per operation like the engine
 * under a lock, or BATCH operations per transaction, one sync each, as group commit batches them
 * (an operation that is refused writes nothing; the others in its transaction go on).
 * Usage: lmdb_raw WORKLOAD DIR durable|nosync [BATCH] */
#include "common.h"
#include <lmdb.h>

#define CHECK(rc, what) do { int _rc = (rc); if (_rc) { fprintf(stderr, "%s: %s\n", what, mdb_strerror(_rc)); exit(3); } } while (0)

static MDB_env *env; static MDB_dbi counters, payments;

static int64_t get_cell(MDB_txn *t, uint64_t key, int64_t *count) {
    MDB_val k = {8, &key}, v;
    if (mdb_get(t, counters, &k, &v) == MDB_NOTFOUND) { *count = 0; return 0; }
    int64_t cell[2]; memcpy(cell, v.mv_data, 16); *count = cell[1]; return cell[0];
}
static void add_cell(MDB_txn *t, uint64_t key, int64_t amount, int64_t count) {
    int64_t c; int64_t a = get_cell(t, key, &c);
    int64_t cell[2] = {a + amount, c + count};
    MDB_val k = {8, &key}, v = {16, cell};
    if (cell[0] == 0 && cell[1] == 0) { mdb_del(t, counters, &k, NULL); return; }
    CHECK(mdb_put(t, counters, &k, &v, 0), "put counter");
}
static int get_record(MDB_txn *t, uint32_t id, record_t *r) {
    MDB_val k = {4, &id}, v;
    if (mdb_get(t, payments, &k, &v) == MDB_NOTFOUND) return 0;
    memcpy(r, v.mv_data, sizeof *r); return 1;
}
static void put_record(MDB_txn *t, uint32_t id, const record_t *r) {
    MDB_val k = {4, &id}, v = {sizeof *r, (void *)r};
    CHECK(mdb_put(t, payments, &k, &v, 0), "put record");
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) { fprintf(stderr, "usage: lmdb_raw WORKLOAD DIR durable|nosync [BATCH]\n"); return 64; }
    long batch = argc == 5 ? atol(argv[4]) : 1;
    if (batch < 1) { fprintf(stderr, "lmdb_raw: BATCH must be at least 1\n"); return 64; }
    uint64_t count; op_t *ops = read_workload(argv[1], &count);
    int durable = strcmp(argv[3], "durable") == 0;
    CHECK(mdb_env_create(&env), "create");
    CHECK(mdb_env_set_mapsize(env, (size_t)8 << 30), "mapsize");
    CHECK(mdb_env_set_maxdbs(env, 4), "maxdbs");
    CHECK(mdb_env_open(env, argv[2], MDB_NOTLS | (durable ? 0 : MDB_NOSYNC), 0600), "open");
    MDB_txn *t; CHECK(mdb_txn_begin(env, NULL, 0, &t), "begin");
    CHECK(mdb_dbi_open(t, "counters", MDB_CREATE, &counters), "dbi");
    CHECK(mdb_dbi_open(t, "payments", MDB_CREATE, &payments), "dbi");
    CHECK(mdb_txn_commit(t), "commit");

    long approved = 0, declined = 0, errors = 0; uint64_t auths = 0;
    char *decided = calloc(count + 1, 1); /* payment -> 1 approved, 2 declined (first answer) */
    double start = now_seconds();
    long inTxn = 0;
    t = NULL;
    for (uint64_t i = 0; i < count; i++) {
        const op_t *op = &ops[i];
        if (!t) CHECK(mdb_txn_begin(env, NULL, 0, &t), "begin");
        inTxn++;
        record_t r; uint64_t keys[6]; int n = counter_keys(op, keys);
        if (op->kind == OP_AUTHORIZE) {
            auths++;
            if (get_record(t, op->payment, &r)) goto next; /* a retry: the first answer */
            int64_t ua[6], uc[6];
            for (int j = 0; j < n; j++) ua[j] = get_cell(t, keys[j], &uc[j]);
            int ok = approve(op, n, ua, uc);
            if (ok) for (int j = 0; j < n; j++) add_cell(t, keys[j], op->amount_fen, 1);
            record_t nr = {ok ? ST_AUTHORIZED : ST_DECLINED, op->institution, op->account_class, 0, op->card, op->amount_fen, op->time, 0};
            put_record(t, op->payment, &nr);
            decided[op->payment] = ok ? 1 : 2;
            if (ok) approved++; else declined++;
        } else if (op->kind == OP_CONFIRM || op->kind == OP_RELEASE) {
            if (!get_record(t, op->payment, &r) || r.state != ST_AUTHORIZED) { errors++; goto next; }
            if (op->kind == OP_RELEASE) for (int j = 0; j < n; j++) add_cell(t, keys[j], -r.amount_fen, -1);
            r.state = op->kind == OP_CONFIRM ? ST_CONFIRMED : ST_RELEASED;
            put_record(t, op->payment, &r);
        } else {
            record_t rr; uint32_t rid = op->payment + 1000000000u;
            if (get_record(t, rid, &rr)) goto next;
            if (!get_record(t, op->payment, &r) || r.state != ST_CONFIRMED || op->amount_fen > r.amount_fen - r.refunded_fen) {
                errors++; goto next;
            }
            r.refunded_fen += op->amount_fen; /* the shipped rules give nothing back on refunds */
            put_record(t, op->payment, &r);
            record_t refund = {ST_CONFIRMED, 0, 0, 0, op->card, op->amount_fen, op->time, 0};
            put_record(t, rid, &refund);
        }
    next:
        if (inTxn == batch || i + 1 == count) { /* a transaction that wrote nothing commits at no cost */
            CHECK(mdb_txn_commit(t), "commit");
            t = NULL;
            inTxn = 0;
        }
    }
    double seconds = now_seconds() - start;

    /* Correct: the cells sum, per kind, to the approved and unreleased payments. */
    totals_t want, have = {0};
    expected_totals(ops, count, decided, &want);
    CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &t), "begin");
    MDB_cursor *c; CHECK(mdb_cursor_open(t, counters, &c), "cursor");
    MDB_val k, v;
    while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0) {
        uint64_t key; int64_t cell[2]; memcpy(&key, k.mv_data, 8); memcpy(cell, v.mv_data, 16);
        have.amount[key_kind(key)] += cell[0]; have.count[key_kind(key)] += cell[1];
    }
    mdb_cursor_close(c); mdb_txn_abort(t);
    char note[64];
    if (batch == 1) snprintf(note, sizeof note, "C on liblmdb, one txn per op");
    else snprintf(note, sizeof note, "C on liblmdb, %ld ops per txn", batch);
    print_result("lmdb-raw", argv[3], count, auths, seconds, approved, declined, errors, totals_equal(&want, &have), note);
    mdb_env_close(env);
    return 0;
}
