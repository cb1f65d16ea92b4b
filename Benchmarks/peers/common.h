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

/* What the cells must hold at the end, from the peer's own answers: per kind, the approved
 * (first answer) and unreleased payments. `decided[payment]` is 1 approved, 2 declined. */
static inline void expected_totals(const op_t *ops, uint64_t count, const char *decided, totals_t *want) {
    memset(want, 0, sizeof *want);
    char *released = calloc(count + 1, 1), *seen = calloc(count + 1, 1);
    for (uint64_t i = 0; i < count; i++) if (ops[i].kind == OP_RELEASE) released[ops[i].payment] = 1;
    for (uint64_t i = 0; i < count; i++)
        if (ops[i].kind == OP_AUTHORIZE && !seen[ops[i].payment]++ && decided[ops[i].payment] == 1 && !released[ops[i].payment])
            expect_payment(want, &ops[i]);
    free(released); free(seen);
}

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
