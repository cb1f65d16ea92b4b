/* The raw ceiling: the same counters, checks and idempotency records as the engine, directly on
 * liblmdb in C, no rules engine, no Swift. One write transaction per operation like the engine
 * under a lock, or BATCH operations per transaction, one sync each, as group commit batches them
 * (an operation that is refused writes nothing; the others in its transaction go on).
 * PREFILL: a day store's own payments, run first, untimed and without sync (then synced), so
 * that the measured run meets the same tree as the engine's. SECONDS: stop after that long.
 * durable-writemap: durable, LMDB writing its pages through a writable map (MDB_WRITEMAP).
 * Usage: lmdb_raw WORKLOAD DIR durable|durable-writemap|nosync [BATCH [PREFILL|- [SECONDS]]] */
#include "lmdb_common.h"

static MDB_env *env; static MDB_dbi counters, payments;
static MDB_txn *t; /* the write transaction in hand */

static int64_t get_cell(uint64_t key, int64_t *count) {
    MDB_val k = {8, &key}, v;
    if (mdb_get(t, counters, &k, &v) == MDB_NOTFOUND) { *count = 0; return 0; }
    int64_t cell[2]; memcpy(cell, v.mv_data, 16); *count = cell[1]; return cell[0];
}
static void add_cell(uint64_t key, int64_t amount, int64_t count) {
    int64_t c; int64_t a = get_cell(key, &c);
    int64_t cell[2] = {a + amount, c + count};
    MDB_val k = {8, &key}, v = {16, cell};
    if (cell[0] == 0 && cell[1] == 0) { mdb_del(t, counters, &k, NULL); return; }
    CHECK(mdb_put(t, counters, &k, &v, 0), "put counter");
}
static int get_record(uint32_t id, record_t *r) {
    MDB_val k = {4, &id}, v;
    if (mdb_get(t, payments, &k, &v) == MDB_NOTFOUND) return 0;
    memcpy(r, v.mv_data, sizeof *r); return 1;
}
static void put_record(uint32_t id, const record_t *r) {
    MDB_val k = {4, &id}, v = {sizeof *r, (void *)r};
    CHECK(mdb_put(t, payments, &k, &v, 0), "put record");
}
static const store_ops_t OPS = {get_cell, add_cell, get_record, put_record};

/* Each commit's duration, when measured. */
static double *commits; static uint64_t ncommits;

/* Runs ops in transactions of `batch`; records each commit's duration when `commits` is set. */
static void run(const op_t *ops, uint64_t count, long batch, decided_t *d, stats_t *s, double deadline) {
    long inTxn = 0;
    uint64_t i = 0;
    for (; i < count; i++) {
        if (past_deadline(ops, i, deadline)) break;
        if (!t) CHECK(mdb_txn_begin(env, NULL, 0, &t), "begin");
        inTxn++;
        run_op(OPS, &ops[i], d, s);
        if (inTxn == batch || i + 1 == count) { /* a transaction that wrote nothing commits at no cost */
            double began = commits ? now_seconds() : 0;
            CHECK(mdb_txn_commit(t), "commit");
            if (commits) commits[ncommits++] = now_seconds() - began;
            t = NULL;
            inTxn = 0;
        }
    }
    if (t) { CHECK(mdb_txn_commit(t), "commit"); t = NULL; }
    s->ran = i;
}

int main(int argc, char **argv) {
    if (argc < 4 || argc > 7) { fprintf(stderr, "usage: lmdb_raw WORKLOAD DIR durable|durable-writemap|nosync [BATCH [PREFILL|- [SECONDS]]]\n"); return 64; }
    long batch = argc > 4 ? atol(argv[4]) : 1;
    if (batch < 1) { fprintf(stderr, "lmdb_raw: BATCH must be at least 1\n"); return 64; }
    uint64_t count, prefillCount; op_t *ops = read_workload(argv[1], &count);
    op_t *prefill = read_prefill(argc, argv, 5, &prefillCount);
    double seconds_max = read_seconds(argc, argv, 6);
    int durable = strncmp(argv[3], "durable", 7) == 0, writemap = strcmp(argv[3], "durable-writemap") == 0;
    CHECK(mdb_env_create(&env), "create");
    CHECK(mdb_env_set_mapsize(env, (size_t)16 << 30), "mapsize");
    CHECK(mdb_env_set_maxdbs(env, 4), "maxdbs");
    CHECK(mdb_env_open(env, argv[2], MDB_NOTLS | MDB_NOSYNC | (writemap ? MDB_WRITEMAP : 0), 0600), "open");
    CHECK(mdb_txn_begin(env, NULL, 0, &t), "begin");
    CHECK(mdb_dbi_open(t, "counters", MDB_CREATE, &counters), "dbi");
    CHECK(mdb_dbi_open(t, "payments", MDB_CREATE, &payments), "dbi");
    CHECK(mdb_txn_commit(t), "commit");
    t = NULL;

    totals_t want = {0}, have = {0};
    if (prefill) { /* the day store: large transactions, no sync, then one sync */
        decided_t pd = decided_new(prefill, prefillCount);
        stats_t ps = {0};
        run(prefill, prefillCount, 10000, &pd, &ps, 0);
        CHECK(mdb_env_sync(env, 1), "sync");
        expected_totals(prefill, prefillCount, &pd, &want);
    }
    if (durable) CHECK(mdb_env_set_flags(env, MDB_NOSYNC, 0), "flags");

    decided_t d = decided_new(ops, count);
    stats_t s = {0};
    commits = malloc(sizeof(double) * (count / batch + 2));
    double start = now_seconds();
    run(ops, count, batch, &d, &s, seconds_max > 0 ? start + seconds_max : 0);
    double seconds = now_seconds() - start;

    /* Correct: the cells sum, per kind, to the approved and unreleased payments. */
    expected_totals(ops, s.ran, &d, &want);
    lmdb_totals(env, counters, &have);
    MDB_envinfo info; MDB_stat st; mdb_env_info(env, &info); mdb_env_stat(env, &st);
    qsort(commits, ncommits, sizeof(double), by_double);
    double p50 = ncommits ? commits[ncommits / 2] : 0, p99 = ncommits ? commits[(ncommits * 99) / 100] : 0;
    double mx = ncommits ? commits[ncommits - 1] : 0;
    char how[48], note[200];
    if (batch == 1) snprintf(how, sizeof how, "one txn per op"); else snprintf(how, sizeof how, "%ld ops per txn", batch);
    snprintf(note, sizeof note, "C on liblmdb, %s; commits %llu: p50 %.2f ms, p99 %.2f ms, max %.1f ms; store %.0f MiB",
             how, (unsigned long long)ncommits, p50 * 1e3, p99 * 1e3, mx * 1e3,
             (double)(info.me_last_pgno + 1) * st.ms_psize / 1048576.0);
    if (s.ran < count) snprintf(note + strlen(note), sizeof note - strlen(note), "; stopped after %g s", seconds_max);
    print_result("lmdb-raw", argv[3], s.ran, s.auths, seconds, s.approved, s.declined, s.errors, totals_equal(&want, &have), note);
    mdb_env_close(env);
    return 0;
}
