/* Shared by the peers: the workload file, the shipped rules' caps and checks, counter keys,
 * a clock, and the end-of-run correctness check. The checks are the engine's, in its order
 * (regulatory, bank, institution), on the same counters, so every system makes the same
 * decisions on the same workload: their approval counts are compared in the report. */
#ifndef HEADROOM_PEERS_COMMON_H
#define HEADROOM_PEERS_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { OP_AUTHORIZE = 1, OP_CONFIRM = 2, OP_RELEASE = 3, OP_REFUND = 4 };
enum { ST_DECLINED = 1, ST_AUTHORIZED = 2, ST_CONFIRMED = 3, ST_RELEASED = 4 };

/* The 32-byte op written by the Swift harness (Workload.write). */
typedef struct {
    uint8_t kind, institution, business, account_class;
    uint32_t card, payment, reserved;
    int64_t amount_fen, time;
} op_t;

typedef struct {
    uint8_t state, institution, account_class, pad;
    uint32_t card;
    int64_t amount_fen, time, refunded_fen;
} record_t;

static op_t *read_workload(const char *path, uint64_t *count) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    char magic[4]; uint32_t version;
    if (fread(magic, 1, 4, f) != 4 || memcmp(magic, "HRWL", 4) != 0 || fread(&version, 4, 1, f) != 1 || version != 1
        || fread(count, 8, 1, f) != 1) { fprintf(stderr, "%s: not a workload file\n", path); exit(2); }
    op_t *ops = malloc(sizeof(op_t) * *count);
    if (fread(ops, sizeof(op_t), *count, f) != *count) { fprintf(stderr, "%s: truncated\n", path); exit(2); }
    fclose(f);
    return ops;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Natural day, month index and year in UTC+8 (H. Hinnant's civil-from-days). */
static int64_t china_day(int64_t t) { int64_t l = t + 28800; return l >= 0 ? l / 86400 : (l - 86399) / 86400; }
static void civil(int64_t day, int *y, int *m) {
    int64_t z = day + 719468, era = (z >= 0 ? z : z - 146096) / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153, mm = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yoe + era * 400 + (mm <= 2)); *m = (int)mm;
}

/* Counter kinds, as the engine's counters for the shipped rules. */
enum { K_CARD_DAY = 1, K_CARD_MONTH, K_CARD_INST_DAY, K_CARD_INST_MONTH, K_REG_DAY, K_REG_YEAR, K_KINDS };

/* kind(4) | class(2) | institution(6) | card(24) | window(28) */
static uint64_t counter_key(int kind, int cls, int inst, uint32_t card, uint32_t window) {
    return ((uint64_t)kind << 60) | ((uint64_t)cls << 58) | ((uint64_t)inst << 52) | ((uint64_t)card << 28) | window;
}
static int key_kind(uint64_t key) { return (int)(key >> 60); }

/* The cells a payment adds to: 4, and 2 more for Class II and III accounts. */
static int counter_keys(const op_t *op, uint64_t keys[6]) {
    int64_t day = china_day(op->time); int y, m; civil(day, &y, &m);
    uint32_t month = (uint32_t)(y * 12 + m - 1);
    int n = 0;
    keys[n++] = counter_key(K_CARD_DAY, 0, 0, op->card, (uint32_t)day);
    keys[n++] = counter_key(K_CARD_MONTH, 0, 0, op->card, month);
    keys[n++] = counter_key(K_CARD_INST_DAY, 0, op->institution, op->card, (uint32_t)day);
    keys[n++] = counter_key(K_CARD_INST_MONTH, 0, op->institution, op->card, month);
    if (op->account_class > 0) {
        keys[n++] = counter_key(K_REG_DAY, op->account_class, 0, op->card, (uint32_t)day);
        keys[n++] = counter_key(K_REG_YEAR, op->account_class, 0, op->card, (uint32_t)y);
    }
    return n;
}

/* The shipped rules' caps per cell (fen; count), 0 for none. */
static void caps(const op_t *op, int64_t amount_cap[6], int64_t count_cap[6]) {
    int z = op->institution == 0;
    int64_t a[6] = {20000000, 100000000, z ? 5000000 : 2000000, 0,
                    op->account_class == 1 ? 1000000 : 200000, op->account_class == 1 ? 20000000 : 5000000};
    int64_t c[6] = {50, 0, 0, 0, 0, 0};
    memcpy(amount_cap, a, sizeof a); memcpy(count_cap, c, sizeof c);
}

/* The decision, in the engine's order: regulatory (day, year), bank (single, card day amount
 * then count, card month), institution (single, card+institution day). `used` are the cells'
 * amounts and counts before the payment, in counter_keys order. */
static inline int approve(const op_t *op, int n, const int64_t used_amount[6], const int64_t used_count[6]) {
    int64_t ac[6], cc[6]; caps(op, ac, cc);
    int64_t a = op->amount_fen;
    if (n == 6 && (used_amount[4] + a > ac[4] || used_amount[5] + a > ac[5])) return 0;
    if (a > 5000000) return 0;
    if (used_amount[0] + a > ac[0] || used_count[0] + 1 > cc[0]) return 0;
    if (used_amount[1] + a > ac[1]) return 0;
    if (a > (op->institution == 0 ? 2000000 : 1000000)) return 0;
    if (used_amount[2] + a > ac[2]) return 0;
    return 1;
}

/* What the peer believes: per kind, the amount and count of approved, unreleased payments. */
typedef struct { int64_t amount[K_KINDS], count[K_KINDS]; } totals_t;

static void expect_payment(totals_t *t, const op_t *op) {
    uint64_t keys[6]; int n = counter_keys(op, keys);
    for (int i = 0; i < n; i++) { t->amount[key_kind(keys[i])] += op->amount_fen; t->count[key_kind(keys[i])] += 1; }
}

/* Each payment's first answer: 1 approved, 2 declined; by payment number, from the lowest the
 * workload names (a day store's own payments are numbered from 2,000,000,000). */
typedef struct { uint32_t base; uint64_t span; char *v; } decided_t;
static inline decided_t decided_new(const op_t *ops, uint64_t count) {
    uint32_t lo = UINT32_MAX, hi = 0;
    for (uint64_t i = 0; i < count; i++) { if (ops[i].payment < lo) lo = ops[i].payment; if (ops[i].payment > hi) hi = ops[i].payment; }
    if (count == 0) lo = hi = 0;
    decided_t d = {lo, (uint64_t)hi - lo + 1, NULL};
    d.v = calloc(d.span, 1);
    return d;
}
#define DECIDED(d, p) ((d)->v[(p) - (d)->base])

/* Adds to `want` what the cells must hold from the first `count` ops, from the peer's own
 * answers: per kind, the approved (first answer) and unreleased payments. */
static inline void expected_totals(const op_t *ops, uint64_t count, const decided_t *d, totals_t *want) {
    char *released = calloc(d->span, 1), *seen = calloc(d->span, 1);
    for (uint64_t i = 0; i < count; i++) if (ops[i].kind == OP_RELEASE) released[ops[i].payment - d->base] = 1;
    for (uint64_t i = 0; i < count; i++) {
        uint32_t p = ops[i].payment - d->base;
        if (ops[i].kind == OP_AUTHORIZE && !seen[p]++ && d->v[p] == 1 && !released[p]) expect_payment(want, &ops[i]);
    }
    free(released); free(seen);
}

/* How a peer reads and writes its store: the four calls every peer's operations are made of. */
typedef struct {
    int64_t (*get_cell)(uint64_t key, int64_t *count);
    void (*add_cell)(uint64_t key, int64_t amount, int64_t count);
    int (*get_record)(uint32_t id, record_t *r);
    void (*put_record)(uint32_t id, const record_t *r);
} store_ops_t;

typedef struct { long approved, declined, errors; uint64_t auths, ran; } stats_t;

/* One operation, with the engine's semantics, the same for every peer: a retried authorization
 * gets its first answer; confirm and release need an authorized payment, a refund a confirmed one
 * with enough left (the shipped rules give nothing back on refunds); a refused operation writes
 * nothing and counts as an error. */
static inline void run_op(store_ops_t s, const op_t *op, decided_t *d, stats_t *st) {
    record_t r; uint64_t keys[6]; int n = counter_keys(op, keys);
    if (op->kind == OP_AUTHORIZE) {
        st->auths++;
        if (s.get_record(op->payment, &r)) return; /* a retry: the first answer */
        int64_t ua[6], uc[6];
        for (int j = 0; j < n; j++) ua[j] = s.get_cell(keys[j], &uc[j]);
        int ok = approve(op, n, ua, uc);
        if (ok) for (int j = 0; j < n; j++) s.add_cell(keys[j], op->amount_fen, 1);
        record_t nr = {ok ? ST_AUTHORIZED : ST_DECLINED, op->institution, op->account_class, 0, op->card, op->amount_fen, op->time, 0};
        s.put_record(op->payment, &nr);
        DECIDED(d, op->payment) = ok ? 1 : 2;
        if (ok) st->approved++; else st->declined++;
    } else if (op->kind == OP_CONFIRM || op->kind == OP_RELEASE) {
        if (!s.get_record(op->payment, &r) || r.state != ST_AUTHORIZED) { st->errors++; return; }
        if (op->kind == OP_RELEASE) for (int j = 0; j < n; j++) s.add_cell(keys[j], -r.amount_fen, -1);
        r.state = op->kind == OP_CONFIRM ? ST_CONFIRMED : ST_RELEASED;
        s.put_record(op->payment, &r);
    } else {
        record_t rr; uint32_t rid = op->payment + 1000000000u;
        if (s.get_record(rid, &rr)) return;
        if (!s.get_record(op->payment, &r) || r.state != ST_CONFIRMED || op->amount_fen > r.amount_fen - r.refunded_fen) {
            st->errors++; return;
        }
        r.refunded_fen += op->amount_fen;
        s.put_record(op->payment, &r);
        record_t refund = {ST_CONFIRMED, 0, 0, 0, op->card, op->amount_fen, op->time, 0};
        s.put_record(rid, &refund);
    }
}

/* Op i begins a payment (its authorization, not a retry) or a refund: the ops before it are
 * whole payments (retries, confirms and releases follow their authorization). */
static inline int begins_unit(const op_t *ops, uint64_t i) {
    return i == 0 || ops[i].kind == OP_REFUND || (ops[i].kind == OP_AUTHORIZE && ops[i].payment != ops[i - 1].payment);
}

/* A run bounded in time stops at the first payment (or refund) that begins after `deadline`,
 * so that the payment before it ran whole (its retry, its confirm or release). */
static inline int past_deadline(const op_t *ops, uint64_t i, double deadline) {
    if (deadline <= 0 || i == 0) return 0;
    return begins_unit(ops, i) && now_seconds() > deadline;
}

/* The optional arguments the peers share after their own: a day store's payments to run first,
 * untimed ("-" for none), and the most seconds to run the workload (0: all of it). */
static inline op_t *read_prefill(int argc, char **argv, int at, uint64_t *count) {
    *count = 0;
    if (argc <= at || strcmp(argv[at], "-") == 0) return NULL;
    return read_workload(argv[at], count);
}
static inline double read_seconds(int argc, char **argv, int at) { return argc > at ? atof(argv[at]) : 0; }

/* For qsort: doubles in increasing order. */
static inline int by_double(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }

static int totals_equal(const totals_t *a, const totals_t *b) {
    for (int k = 1; k < K_KINDS; k++) if (a->amount[k] != b->amount[k] || a->count[k] != b->count[k]) return 0;
    return 1;
}

static void print_result(const char *system, const char *setting, uint64_t ops, uint64_t auths, double seconds,
                         long approved, long declined, long errors, int correct, const char *note) {
    printf("{\"system\":\"%s\",\"setting\":\"%s\",\"threads\":1,\"ops\":%llu,\"authorizations\":%llu,\"seconds\":%.6f,"
           "\"approved\":%ld,\"declined\":%ld,\"errors\":%ld,\"correct\":%s,\"note\":\"%s\"}\n",
           system, setting, (unsigned long long)ops, (unsigned long long)auths, seconds, approved, declined, errors,
           correct ? "true" : "false", note);
}

#endif
