/* SQLite in WAL mode, with synchronous FULL or NORMAL: the same counters, checks and
 * idempotency records as the engine, one transaction per operation (as the engine commits),
 * prepared statements throughout.
 * Usage: sqlite_peer WORKLOAD FILE full|normal */
#include "common.h"
#include <sqlite3.h>

static sqlite3 *db;
static sqlite3_stmt *get_cell_s, *put_cell_s, *del_cell_s, *get_rec_s, *put_rec_s, *begin_s, *commit_s, *rollback_s;

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

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: sqlite_peer WORKLOAD FILE full|normal\n"); return 64; }
    uint64_t count; op_t *ops = read_workload(argv[1], &count);
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
    begin_s = prep("BEGIN IMMEDIATE"); commit_s = prep("COMMIT"); rollback_s = prep("ROLLBACK");

    long approved = 0, declined = 0, errors = 0; uint64_t auths = 0;
    char *decided = calloc(count + 1, 1);
    double start = now_seconds();
    for (uint64_t i = 0; i < count; i++) {
        const op_t *op = &ops[i];
        exec1(begin_s);
        record_t r; uint64_t keys[6]; int n = counter_keys(op, keys);
        if (op->kind == OP_AUTHORIZE) {
            auths++;
            if (get_record(op->payment, &r)) { exec1(rollback_s); continue; }
            int64_t ua[6], uc[6];
            for (int j = 0; j < n; j++) ua[j] = get_cell(keys[j], &uc[j]);
            int ok = approve(op, n, ua, uc);
            if (ok) for (int j = 0; j < n; j++) add_cell(keys[j], op->amount_fen, 1);
            record_t nr = {ok ? ST_AUTHORIZED : ST_DECLINED, op->institution, op->account_class, 0, op->card, op->amount_fen, op->time, 0};
            put_record(op->payment, &nr);
            decided[op->payment] = ok ? 1 : 2;
            if (ok) approved++; else declined++;
        } else if (op->kind == OP_CONFIRM || op->kind == OP_RELEASE) {
            if (!get_record(op->payment, &r) || r.state != ST_AUTHORIZED) { errors++; exec1(rollback_s); continue; }
            if (op->kind == OP_RELEASE) for (int j = 0; j < n; j++) add_cell(keys[j], -r.amount_fen, -1);
            r.state = op->kind == OP_CONFIRM ? ST_CONFIRMED : ST_RELEASED;
            put_record(op->payment, &r);
        } else {
            record_t rr; uint32_t rid = op->payment + 1000000000u;
            if (get_record(rid, &rr)) { exec1(rollback_s); continue; }
            if (!get_record(op->payment, &r) || r.state != ST_CONFIRMED || op->amount_fen > r.amount_fen - r.refunded_fen) {
                errors++; exec1(rollback_s); continue;
            }
            r.refunded_fen += op->amount_fen;
            put_record(op->payment, &r);
            record_t refund = {ST_CONFIRMED, 0, 0, 0, op->card, op->amount_fen, op->time, 0};
            put_record(rid, &refund);
        }
        exec1(commit_s);
    }
    double seconds = now_seconds() - start;

    totals_t want, have = {0};
    expected_totals(ops, count, decided, &want);
    sqlite3_stmt *all = prep("SELECT k, amount, n FROM counters");
    while (sqlite3_step(all) == SQLITE_ROW) {
        uint64_t key = (uint64_t)sqlite3_column_int64(all, 0);
        have.amount[key_kind(key)] += sqlite3_column_int64(all, 1); have.count[key_kind(key)] += sqlite3_column_int64(all, 2);
    }
    sqlite3_finalize(all);
    char setting[32]; snprintf(setting, sizeof setting, "WAL, synchronous=%s", strcmp(argv[3], "full") == 0 ? "FULL" : "NORMAL");
    print_result("sqlite", setting, count, auths, seconds, approved, declined, errors, totals_equal(&want, &have), "C on libsqlite3, one transaction per op");
    sqlite3_close(db);
    return 0;
}
