/* Many threads authorizing through one engine by the C interface: never over-approved.
 *
 * 16 threads send 400 payments each, on 24 cards, against Tests/C/rules (a card may take
 * 1,000.00 and 7 payments a day; the bank 20,000.00): the approved payments are then summed
 * per card and in all and checked against the caps, every answer's headroom checked to be
 * consistent, and the engine's own figure (an explain of each card after the run) checked to
 * equal the sums. Then: a reconciliation (a payment NetsUnion says failed, given back exactly
 * once; a contradiction refused; a payment the bank never saw), a malformed payment, a NULL
 * argument, a small metrics buffer.
 *
 *   cc -std=c99 -Wall -Iinclude Tests/C/threads.c -L.build/debug -lheadroom \
 *      -Wl,-rpath,$PWD/.build/debug -lpthread -o /tmp/threads && /tmp/threads /tmp/store Tests/C/rules [journal]
 *
 * With `journal`, the engine runs in journal mode (each batch durable by a journal append).
 */
#define _DEFAULT_SOURCE
#include <headroom.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS 16
#define PER_THREAD 400
#define CARDS 24
#define CARD_AMOUNT_MAX 100000 /* fen */
#define CARD_COUNT_MAX 7
#define BANK_AMOUNT_MAX 2000000
#define DAY 1795536000         /* 2026-11-25T00:00:00+08:00 */

static headroom_engine *engine;
static char cards[CARDS][20];
static int64_t approved_fen[THREADS][CARDS];
static int64_t approved_count[THREADS][CARDS];
static int failures;
static char first_id[32]; /* thread 0's first approval, for the reconciliation checks */
static int64_t first_fen;

static void fail(const char *what) {
    fprintf(stderr, "threads: FAIL: %s\n", what);
    __atomic_add_fetch(&failures, 1, __ATOMIC_SEQ_CST);
}

/* A Luhn-valid 16-digit card number. */
static void card_number(int n, char out[20]) {
    snprintf(out, 20, "622202%09d", 100000 + n * 7919);
    int sum = 0;
    for (int i = 14, double_it = 1; i >= 0; i--, double_it = !double_it) {
        int d = out[i] - '0';
        if (double_it) { d *= 2; if (d > 9) d -= 9; }
        sum += d;
    }
    out[15] = (char)('0' + (10 - sum % 10) % 10);
    out[16] = 0;
}

static uint64_t next(uint64_t *state) { /* splitmix64 */
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Cards whose explained headroom disagrees with the approvals counted: `strict`, the payments
 * left must equal the cap less those approved; otherwise they may be more (a stale snapshot),
 * never fewer. A 0.01 payment is explained; one declined by the total cap tells nothing. */
static int explain_mismatches(const int64_t approved_n[CARDS], int strict) {
    int mismatches = 0;
    for (int c = 0; c < CARDS; c++) {
        headroom_payment probe = {
            .id = "PROBE", .time = DAY + 7200, .card = cards[c], .institution = "Z2007933000010",
            .business = HEADROOM_AGREEMENT, .amount_fen = 1, .account_class = HEADROOM_CLASS_I,
            .channel = HEADROOM_NOT_GIVEN, .account_type = HEADROOM_NOT_GIVEN,
        };
        headroom_decision decision;
        headroom_error error;
        if (headroom_explain(engine, &probe, &decision, &error) != HEADROOM_OK) {
            fprintf(stderr, "threads: explain: %s\n", error.message);
            mismatches++;
            continue;
        }
        const headroom_tier *bank = &decision.headroom[HEADROOM_TIER_BANK - 1];
        int64_t left = CARD_COUNT_MAX - approved_n[c] - 1;  /* after the probe */
        if (decision.outcome == HEADROOM_APPROVE && bank->count_limited) {
            if (strict ? bank->count != left : bank->count < left) mismatches++;
        } else if (strict && strcmp(decision.rule, "bank.card-daily") == 0 && approved_n[c] < CARD_COUNT_MAX
                   && decision.reason == 432 /* exceedsBankDailyCount */) {
            mismatches++;
        }
    }
    return mismatches;
}

static void *run(void *arg) {
    int t = (int)(intptr_t)arg;
    uint64_t seed = 42 + (uint64_t)t;
    for (int i = 0; i < PER_THREAD; i++) {
        char id[32];
        snprintf(id, sizeof id, "T%02dP%05d", t, i);
        int card = (int)(next(&seed) % CARDS);
        headroom_payment payment = {
            .id = id, .time = DAY + 3600 + i, .card = cards[card], .institution = "Z2007933000010",
            .business = HEADROOM_AGREEMENT, .amount_fen = 1000 + (int64_t)(next(&seed) % 30000),
            .account_class = HEADROOM_CLASS_I, .channel = HEADROOM_NOT_GIVEN, .account_type = HEADROOM_NOT_GIVEN,
        };
        headroom_decision decision;
        headroom_error error;
        int status = headroom_authorize(engine, &payment, &decision, &error);
        if (status != HEADROOM_OK) { fprintf(stderr, "threads: %s: %s\n", id, error.message); fail("authorize"); continue; }
        if (decision.outcome == HEADROOM_APPROVE) {
            if (decision.reason != 0 || decision.rule[0] != 0 || decision.tier != HEADROOM_TIER_NONE) fail("an approval names a rule");
            if (t == 0 && first_fen == 0) { strcpy(first_id, id); first_fen = payment.amount_fen; }
            approved_fen[t][card] += payment.amount_fen;
            approved_count[t][card] += 1;
            if (headroom_confirm(engine, id, &error) != HEADROOM_OK) { fprintf(stderr, "%s\n", error.message); fail("confirm"); }
        } else if (decision.outcome == HEADROOM_DECLINE) {
            if (decision.tier != HEADROOM_TIER_BANK) fail("a decline not by the bank tier");
            if (strcmp(decision.rule, "bank.card-daily") != 0 && strcmp(decision.rule, "bank.total-daily") != 0) fail("a decline by no rule");
            if (strcmp(headroom_reason_name(decision.reason), "unknown") == 0) fail("a reason without a name");
        } else {
            fail("an outcome neither approve nor decline");
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "journal") != 0)) {
        fprintf(stderr, "usage: %s NEW_STORE RULES [journal]\n", argv[0]);
        return 64;
    }
    uint8_t key[32];
    memset(key, 0x3c, sizeof key);
    for (int c = 0; c < CARDS; c++) card_number(c, cards[c]);

    headroom_options options;
    headroom_options_init(&options);
    options.card_key = key;
    options.rules_directory = argv[2];
    options.log_level = HEADROOM_LOG_WARNING;
    options.journal = argc == 4;
    headroom_error error;

    /* Bad options are refused by field, and nothing is created. */
    headroom_options bad_options = options;
    bad_options.durability = 9;
    if (headroom_open(argv[1], &bad_options, &engine, &error) != HEADROOM_EINVALID_INPUT || strstr(error.message, "options.durability") == NULL
        || engine != NULL)
        fail("a bad durability was not refused by field");
    bad_options = options;
    bad_options.card_key = NULL;
    if (headroom_open(argv[1], &bad_options, &engine, &error) != HEADROOM_ECARD_KEY_UNAVAILABLE) fail("a missing card key was not refused");
    bad_options = options;
    bad_options.rules_directory = NULL;
    if (headroom_open(argv[1], &bad_options, &engine, &error) != HEADROOM_ENO_STORE) fail("a path without a store opened");
    if (headroom_open(argv[1], NULL, &engine, &error) != HEADROOM_EARGUMENT) fail("NULL options were not refused");

    if (headroom_open(argv[1], &options, &engine, &error) != HEADROOM_OK) {
        fprintf(stderr, "threads: open: %s\n", error.message);
        return 1;
    }

    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++) pthread_create(&threads[t], NULL, run, (void *)(intptr_t)t);
    for (int t = 0; t < THREADS; t++) pthread_join(threads[t], NULL);

    int64_t total = 0, count = 0, approved_n[CARDS];
    for (int c = 0; c < CARDS; c++) {
        int64_t fen = 0, n = 0;
        for (int t = 0; t < THREADS; t++) { fen += approved_fen[t][c]; n += approved_count[t][c]; }
        if (fen > CARD_AMOUNT_MAX || n > CARD_COUNT_MAX) { fprintf(stderr, "card %d: %lld fen in %lld\n", c, (long long)fen, (long long)n); fail("a card over its cap"); }
        approved_n[c] = n;
        total += fen;
        count += n;
    }
    /* The engine's own view agrees with the sums: at once through group commit; in journal mode
     * reads see the last checkpoint (at most about a second old), so at once they may show more
     * headroom than the sums leave, never less, and equal them once the checkpoint lands. */
    if (explain_mismatches(approved_n, !options.journal) != 0) fail("explain saw more approvals than were answered");
    if (options.journal) {
        int waited = 0;
        while (explain_mismatches(approved_n, 1) != 0 && waited < 100) { usleep(100000); waited++; }
        if (explain_mismatches(approved_n, 1) != 0) fail("explain disagrees with the approvals 10 s after the last one");
    }
    if (total > BANK_AMOUNT_MAX) fail("the bank over its cap");
    if (count == 0 || count == THREADS * PER_THREAD) fail("no race: every payment got the same answer");

    /* Bad input is answered, never a crash. */
    headroom_payment bad = { .id = "BAD1", .time = DAY, .card = "6222020200112233447", .institution = "Z2007933000010",
                             .business = HEADROOM_AGREEMENT, .amount_fen = 100, .account_class = HEADROOM_CLASS_I,
                             .channel = HEADROOM_NOT_GIVEN, .account_type = HEADROOM_NOT_GIVEN };
    headroom_decision decision;
    if (headroom_authorize(engine, &bad, &decision, &error) != HEADROOM_EINVALID_INPUT || strstr(error.message, "payment.card") == NULL)
        fail("a card failing the Luhn check was not refused by field");
    else if (strstr(error.message, "6222020200112233447") != NULL)
        fail("the refusal shows the card number in clear");
    bad.card = "6222020200112233446";
    bad.business = 42;
    if (headroom_authorize(engine, &bad, &decision, &error) != HEADROOM_EINVALID_INPUT || strstr(error.message, "payment.business") == NULL)
        fail("a business out of range was not refused by field");
    if (headroom_authorize(engine, NULL, &decision, &error) != HEADROOM_EARGUMENT) fail("a NULL payment was not refused");
    if (headroom_confirm(engine, "NEVER-SEEN", &error) != HEADROOM_EUNKNOWN_PAYMENT) fail("an unknown id was confirmed");
    if (first_fen != 0 && headroom_verify(engine, first_id, &error) != HEADROOM_ENOT_CHALLENGED)
        fail("a verify of a payment never challenged was not refused");
    if (headroom_verify(engine, "NEVER-SEEN", &error) != HEADROOM_EUNKNOWN_PAYMENT) fail("an unknown id was verified");

    /* Reconciliation: NetsUnion says an approved payment failed; exactly once; a contradiction
     * refused; a payment the bank never saw recorded; a malformed status refused by field. */
    headroom_reconcile_line failed = { .id = first_id, .batch = "B202611250013", .status = "01", .amount_fen = first_fen,
                                     .time = DAY + 3600, .institution = "Z2007933000010", .card = NULL };
    headroom_reconcile_result reconciled;
    if (first_fen == 0) fail("thread 0 approved nothing");
    else if (headroom_reconcile(engine, &failed, &reconciled, &error) != HEADROOM_OK) { fprintf(stderr, "%s\n", error.message); fail("reconcile"); }
    else if (reconciled.correction != HEADROOM_CORRECTION_GIVEN_BACK || reconciled.state != HEADROOM_STATE_REVERSED || reconciled.amount_fen != first_fen)
        fail("a failed payment was not given back");
    if (headroom_reconcile(engine, &failed, &reconciled, &error) != HEADROOM_OK || reconciled.correction != HEADROOM_CORRECTION_ALREADY_RECONCILED)
        fail("the same line again was not answered as applied before");
    failed.status = "00";
    if (headroom_reconcile(engine, &failed, &reconciled, &error) != HEADROOM_ERECONCILE_CONFLICT) fail("a contradicting line was not refused");
    failed.status = "02";
    if (headroom_reconcile(engine, &failed, &reconciled, &error) != HEADROOM_EINVALID_INPUT || strstr(error.message, "line.status") == NULL)
        fail("a malformed status was not refused by field");
    headroom_reconcile_line unseen = { .id = "UNSEEN0001", .batch = "B202611250013", .status = "00", .amount_fen = 5000,
                                       .time = DAY + 3600, .institution = "Z2007933000010", .card = cards[0],
                                       .business = HEADROOM_AGREEMENT, .account_class = HEADROOM_CLASS_I,
                                       .channel = HEADROOM_NOT_GIVEN, .account_type = HEADROOM_NOT_GIVEN };
    if (headroom_reconcile(engine, &unseen, &reconciled, &error) != HEADROOM_OK) { fprintf(stderr, "%s\n", error.message); fail("reconcile unseen"); }
    else if (reconciled.correction != HEADROOM_CORRECTION_UNKNOWN_TO_BANK || reconciled.state != HEADROOM_STATE_CONFIRMED)
        fail("a payment the bank never saw was not recorded");

    /* Metrics: a small buffer is refused with the size needed; the text counts the decisions. */
    char small[8];
    size_t needed = 0;
    if (headroom_metrics_text(small, sizeof small, &needed) != HEADROOM_EBUFFER || needed <= sizeof small) fail("a small metrics buffer");
    char *text = malloc(needed);
    size_t length = 0;
    if (headroom_metrics_text(text, needed, &length) != HEADROOM_OK || length + 1 != needed) fail("metrics text");
    char line[160];
    snprintf(line, sizeof line, "headroom_authorizations_total{outcome=\"approve\",code=\"approved\",tier=\"none\"} %lld", (long long)count);
    if (strstr(text, line) == NULL) { fprintf(stderr, "no line: %s\n", line); fail("the metrics do not count the approvals"); }
    free(text);

    if (headroom_close(engine, &error) != HEADROOM_OK) { fprintf(stderr, "%s\n", error.message); fail("close"); }
    if (failures) return 1;
    printf("threads%s: %d threads, %d payments: %lld approved (%lld.%02lld yuan), no cap exceeded\n", options.journal ? " (journal mode)" : "",
           THREADS, THREADS * PER_THREAD, (long long)count, (long long)(total / 100), (long long)(total % 100));
    return 0;
}
