/* SQLite in WAL mode, with synchronous FULL or NORMAL: the same counters, checks and
 * idempotency records as the engine, one transaction per operation (as the engine commits),
 * prepared statements throughout. PREFILL: a day store's own payments, run first in one
 * transaction, untimed. SECONDS: stop after that long.
 * Usage: sqlite_peer WORKLOAD FILE full|normal [PREFILL|- [SECONDS]] */
#include "common.h"
#include <sqlite3.h>

static sqlite3 *db;
static sqlite3_stmt *get_cell_s, *put_cell_s, *del_cell_s, *get_rec_s, *put_rec_s, *begin_s, *commit_s;

static void must(int rc, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) { fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db)); exit(3); }
}
static sqlite3_stmt *prep(const char *sql) { sqlite3_stmt *s; must(sqlite3_prepare_v2(db, sql, -1, &s, NULL), sql); return s; }
static void exec1(sqlite3_stmt *s) { must(sqlite3_step(s), "step"); sqlite3_reset(s); }

static int64_t get_cell(uint64_t key, int64_t *count) {
    sqlite3_bind_int64(get_cell_s, 1, (sqlite3_int64)key);
    int64_t a = 0; *count = 0;
    if (sqlite3_step(get_cell_s) == SQLITE_ROW) { a = sqlite3_column_int64(get_cell_s, 0); *count = sqlite3_column_int64(get_cell_s, 1); }
    sqlite3_reset(get_cell_s);
    return a;
}
static void add_cell(uint64_t key, int64_t amount, int64_t count) {
    int64_t c; int64_t a = get_cell(key, &c);
    if (a + amount == 0 && c + count == 0) { sqlite3_bind_int64(del_cell_s, 1, (sqlite3_int64)key); exec1(del_cell_s); return; }
    sqlite3_bind_int64(put_cell_s, 1, (sqlite3_int64)key); sqlite3_bind_int64(put_cell_s, 2, a + amount); sqlite3_bind_int64(put_cell_s, 3, c + count);
    exec1(put_cell_s);
}
static int get_record(uint32_t id, record_t *r) {
    sqlite3_bind_int64(get_rec_s, 1, id);
    int found = sqlite3_step(get_rec_s) == SQLITE_ROW;
    if (found) memcpy(r, sqlite3_column_blob(get_rec_s, 0), sizeof *r);
    sqlite3_reset(get_rec_s);
    return found;
}
static void put_record(uint32_t id, const record_t *r) {
    sqlite3_bind_int64(put_rec_s, 1, id); sqlite3_bind_blob(put_rec_s, 2, r, sizeof *r, SQLITE_STATIC);
    exec1(put_rec_s);
}

static const store_ops_t OPS = {get_cell, add_cell, get_record, put_record};

/* Runs ops, each in its own transaction (`own`), or all in the caller's. A refused operation
 * wrote nothing: its commit is a rollback's. */
static void run(const op_t *ops, uint64_t count, decided_t *d, stats_t *s, double deadline, int own) {
    uint64_t i = 0;
    for (; i < count; i++) {
        if (past_deadline(ops, i, deadline)) break;
        if (own) exec1(begin_s);
        run_op(OPS, &ops[i], d, s);
        if (own) exec1(commit_s);
    }
    s->ran = i;
}

int main(int argc, char **argv) {
    if (argc < 4 || argc > 6) { fprintf(stderr, "usage: sqlite_peer WORKLOAD FILE full|normal [PREFILL|- [SECONDS]]\n"); return 64; }
    uint64_t count, prefillCount; op_t *ops = read_workload(argv[1], &count);
    op_t *prefill = read_prefill(argc, argv, 4, &prefillCount);
    double seconds_max = read_seconds(argc, argv, 5);
    must(sqlite3_open(argv[2], &db), "open");
    char pragmas[200];
    snprintf(pragmas, sizeof pragmas, "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA cache_size=-262144;",
             strcmp(argv[3], "full") == 0 ? "FULL" : "NORMAL");
    must(sqlite3_exec(db, pragmas, NULL, NULL, NULL), "pragmas");
    must(sqlite3_exec(db, "CREATE TABLE counters(k INTEGER PRIMARY KEY, amount INTEGER NOT NULL, n INTEGER NOT NULL);"
                          "CREATE TABLE payments(id INTEGER PRIMARY KEY, rec BLOB NOT NULL);", NULL, NULL, NULL), "schema");
    get_cell_s = prep("SELECT amount, n FROM counters WHERE k = ?1");
    put_cell_s = prep("INSERT INTO counters(k, amount, n) VALUES (?1, ?2, ?3) ON CONFLICT(k) DO UPDATE SET amount = ?2, n = ?3");
    del_cell_s = prep("DELETE FROM counters WHERE k = ?1");
    get_rec_s = prep("SELECT rec FROM payments WHERE id = ?1");
    put_rec_s = prep("INSERT OR REPLACE INTO payments(id, rec) VALUES (?1, ?2)");
    begin_s = prep("BEGIN IMMEDIATE"); commit_s = prep("COMMIT");

    totals_t want = {0}, have = {0};
    if (prefill) {
        decided_t pd = decided_new(prefill, prefillCount);
        stats_t ps = {0};
        exec1(begin_s);
        run(prefill, prefillCount, &pd, &ps, 0, 0);
        exec1(commit_s);
        must(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE);", NULL, NULL, NULL), "checkpoint");
        expected_totals(prefill, prefillCount, &pd, &want);
    }
    decided_t d = decided_new(ops, count);
    stats_t s = {0};
    double start = now_seconds();
    run(ops, count, &d, &s, seconds_max > 0 ? start + seconds_max : 0, 1);
    double seconds = now_seconds() - start;

    expected_totals(ops, s.ran, &d, &want);
    sqlite3_stmt *all = prep("SELECT k, amount, n FROM counters");
    while (sqlite3_step(all) == SQLITE_ROW) {
        uint64_t key = (uint64_t)sqlite3_column_int64(all, 0);
        have.amount[key_kind(key)] += sqlite3_column_int64(all, 1); have.count[key_kind(key)] += sqlite3_column_int64(all, 2);
    }
    sqlite3_finalize(all);
    char setting[32]; snprintf(setting, sizeof setting, "WAL, synchronous=%s", strcmp(argv[3], "full") == 0 ? "FULL" : "NORMAL");
    char note[96]; snprintf(note, sizeof note, "C on libsqlite3, one transaction per op");
    if (s.ran < count) snprintf(note + strlen(note), sizeof note - strlen(note), "; stopped after %g s", seconds_max);
    print_result("sqlite", setting, s.ran, s.auths, seconds, s.approved, s.declined, s.errors, totals_equal(&want, &have), note);
    sqlite3_close(db);
    return 0;
}
