/* The ceiling of write-behind (decision 0019), in C on liblmdb, at the scale of a day: the same
 * counters, checks and records as lmdb_raw, decided by one thread from an in-memory overlay (what
 * was written since the last apply) over a read snapshot of LMDB; each batch made durable by one
 * append and fdatasync of its effects to a journal (a second thread, which answers the batch);
 * the effects applied to LMDB by a third thread in its own write transactions, committed with a
 * sync every APPLY_MS; after each apply the decider renews its snapshot and drops from the
 * overlay what the store now holds. The journal is a ring of two halves: a half is written over
 * only once everything in it is applied and synced.
 * Not the engine: a prototype measuring what the design can reach on this machine before it is
 * built (no rules engine, no Swift; the apply thread's work is what the checkpoint does today).
 * Usage: writebehind WORKLOAD DIR PREFILL|- [RATE [SECONDS [APPLY_MS [BATCH]]]]
 *   RATE 0: closed loop (as fast as the decider goes), printing a run's result; else payments
 *   offered per second for SECONDS (0: the whole workload), printing an open loop's result: each
 *   operation's latency runs from when it was due to when its batch was synced, and a decider more
 *   than a second behind its schedule stops there (saturated). */
#include "lmdb_common.h"
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

static MDB_env *env; static MDB_dbi counters, payments;

/* ---- The overlay: open addressing, linear probing, backward-shift deletion; decider's own. */
typedef struct { uint64_t key; uint64_t lsn; int64_t a, c; int used, deleted; } cell_slot;
typedef struct { uint32_t key; int used; uint64_t lsn; record_t r; } rec_slot;
static cell_slot *cells; static rec_slot *recs; static uint64_t cell_cap, rec_cap, cell_n, rec_n, overlay_peak;

static uint64_t mix(uint64_t x) { x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL; return x ^ (x >> 33); }
static cell_slot *cell_find(uint64_t key, int create) {
    for (uint64_t i = mix(key) & (cell_cap - 1);; i = (i + 1) & (cell_cap - 1)) {
        if (!cells[i].used) { if (!create) return NULL; cells[i].used = 1; cells[i].key = key; cell_n++; return &cells[i]; }
        if (cells[i].key == key) return &cells[i];
    }
}
static void cell_remove(cell_slot *s) {
    uint64_t i = (uint64_t)(s - cells), j = i;
    cells[i].used = 0; cell_n--;
    for (;;) {
        j = (j + 1) & (cell_cap - 1);
        if (!cells[j].used) return;
        uint64_t home = mix(cells[j].key) & (cell_cap - 1);
        if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) { cells[i] = cells[j]; cells[j].used = 0; i = j; }
    }
}
static rec_slot *rec_find(uint32_t key, int create) {
    for (uint64_t i = mix(key) & (rec_cap - 1);; i = (i + 1) & (rec_cap - 1)) {
        if (!recs[i].used) { if (!create) return NULL; recs[i].used = 1; recs[i].key = key; rec_n++; return &recs[i]; }
        if (recs[i].key == key) return &recs[i];
    }
}
static void rec_remove(rec_slot *s) {
    uint64_t i = (uint64_t)(s - recs), j = i;
    recs[i].used = 0; rec_n--;
    for (;;) {
        j = (j + 1) & (rec_cap - 1);
        if (!recs[j].used) return;
        uint64_t home = mix(recs[j].key) & (rec_cap - 1);
        if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) { recs[i] = recs[j]; recs[j].used = 0; i = j; }
    }
}

/* ---- Batches: their effects, in order (what the journal holds and the applier applies). */
typedef struct { uint8_t tag; uint8_t pad[3]; uint32_t id; uint64_t key; int64_t a, c; record_t r; } effect_t; /* tag 1 cell, 2 cell deleted, 3 record */
typedef struct batch { uint64_t lsn, idx, first_op, ops; effect_t *e; uint64_t n, cap; double durable_at; struct batch *next; } batch_t;

static MDB_txn *snap; /* the decider's read snapshot */
static double *durable_at; /* by batch index: when its sync returned (batches are freed once applied) */
static uint64_t lsn_now;
static batch_t *cur;

static void effect(effect_t e) {
    if (cur->n == cur->cap) { cur->cap = cur->cap ? cur->cap * 2 : 1024; cur->e = realloc(cur->e, cur->cap * sizeof(effect_t)); }
    cur->e[cur->n++] = e;
}
static int64_t get_cell(uint64_t key, int64_t *count) {
    cell_slot *s = cell_find(key, 0);
    if (s) { *count = s->deleted ? 0 : s->c; return s->deleted ? 0 : s->a; }
    MDB_val k = {8, &key}, v;
    if (mdb_get(snap, counters, &k, &v) == MDB_NOTFOUND) { *count = 0; return 0; }
    int64_t cell[2]; memcpy(cell, v.mv_data, 16); *count = cell[1]; return cell[0];
}
static void add_cell(uint64_t key, int64_t amount, int64_t count) {
    int64_t c; int64_t a = get_cell(key, &c);
    cell_slot *s = cell_find(key, 1);
    s->a = a + amount; s->c = c + count; s->lsn = lsn_now; s->deleted = s->a == 0 && s->c == 0;
    effect((effect_t){.tag = s->deleted ? 2 : 1, .key = key, .a = s->a, .c = s->c});
}
static int get_record(uint32_t id, record_t *r) {
    rec_slot *s = rec_find(id, 0);
    if (s) { *r = s->r; return 1; }
    MDB_val k = {4, &id}, v;
    if (mdb_get(snap, payments, &k, &v) == MDB_NOTFOUND) return 0;
    memcpy(r, v.mv_data, sizeof *r); return 1;
}
static void put_record(uint32_t id, const record_t *r) {
    rec_slot *s = rec_find(id, 1);
    s->r = *r; s->lsn = lsn_now;
    effect((effect_t){.tag = 3, .id = id, .r = *r});
}
static const store_ops_t OPS = {get_cell, add_cell, get_record, put_record};

/* ---- Queues between the threads: decider -> syncer -> applier -> decider (to prune). */
typedef struct { batch_t *head, *tail; uint64_t n; } queue_t;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv; /* on the monotonic clock (now_seconds), set up in main */
static queue_t to_sync, to_apply, applied;
static int done_deciding, done_syncing;
static uint64_t applied_lsn, applied_ops;
static void push(queue_t *q, batch_t *b) { b->next = NULL; if (q->tail) q->tail->next = b; else q->head = b; q->tail = b; q->n++; }
static batch_t *pop_all(queue_t *q) { batch_t *b = q->head; q->head = q->tail = NULL; q->n = 0; return b; }

/* The journal: a ring of two halves of HALF bytes; an entry is its effects' bytes. */
#define HALF ((off_t)256 << 20)
static int jfd; static off_t jpos; static int jhalf; static uint64_t half_last_lsn[2];

static void *syncer(void *arg) {
    (void)arg;
    char *buf = malloc(64 << 20);
    for (;;) {
        pthread_mutex_lock(&mu);
        while (!to_sync.head && !done_deciding) pthread_cond_wait(&cv, &mu);
        batch_t *b = pop_all(&to_sync);
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
        if (!b) break;
        size_t len = 0;
        for (batch_t *x = b; x; x = x->next) {
            size_t bytes = x->n * sizeof(effect_t) + 16;
            if (jpos + (off_t)(len + bytes) > (off_t)(jhalf + 1) * HALF) { /* switch halves: wait for the other to be applied */
                if (len) { if (pwrite(jfd, buf, len, jpos) != (ssize_t)len) { perror("journal"); exit(3); } jpos += len; len = 0; }
                int other = !jhalf;
                pthread_mutex_lock(&mu);
                while (applied_lsn < half_last_lsn[other]) pthread_cond_wait(&cv, &mu);
                pthread_mutex_unlock(&mu);
                jhalf = other; jpos = (off_t)jhalf * HALF;
            }
            if (len + bytes > (64u << 20)) { if (pwrite(jfd, buf, len, jpos) != (ssize_t)len) { perror("journal"); exit(3); } jpos += len; len = 0; }
            memcpy(buf + len, &x->lsn, 8); memcpy(buf + len + 8, &x->n, 8);
            memcpy(buf + len + 16, x->e, x->n * sizeof(effect_t));
            len += bytes;
            half_last_lsn[jhalf] = x->lsn;
        }
        if (len && pwrite(jfd, buf, len, jpos) != (ssize_t)len) { perror("journal"); exit(3); }
        jpos += len;
        fdatasync(jfd);
        double t = now_seconds();
        pthread_mutex_lock(&mu);
        for (batch_t *x = b, *next; x; x = next) { next = x->next; x->durable_at = t; durable_at[x->idx] = t; push(&to_apply, x); }
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
    }
    pthread_mutex_lock(&mu); done_syncing = 1; pthread_cond_broadcast(&cv); pthread_mutex_unlock(&mu);
    free(buf);
    return NULL;
}

static double apply_ms = 1000; static double *apply_times; static uint64_t napply; static double apply_lag_max;
static void *applier(void *arg) {
    (void)arg;
    for (;;) {
        double began = now_seconds();
        MDB_txn *t = NULL; batch_t *took = NULL, *took_tail = NULL; uint64_t last = 0;
        for (;;) { /* take what is durable until the interval ends */
            pthread_mutex_lock(&mu); /* wait for durable batches, no later than the interval's end */
            double end_at = began + apply_ms / 1000;
            struct timespec until = {(time_t)end_at, (long)((end_at - (time_t)end_at) * 1e9)};
            while (!to_apply.head && !done_syncing && now_seconds() < end_at) pthread_cond_timedwait(&cv, &mu, &until);
            batch_t *b = pop_all(&to_apply);
            int finished = !b && done_syncing;
            pthread_mutex_unlock(&mu);
            if (b) {
                if (!t) CHECK(mdb_txn_begin(env, NULL, 0, &t), "begin");
                for (batch_t *x = b; x; x = x->next) {
                    for (uint64_t i = 0; i < x->n; i++) {
                        effect_t *e = &x->e[i];
                        if (e->tag == 3) { MDB_val k = {4, &e->id}, v = {sizeof e->r, &e->r}; CHECK(mdb_put(t, payments, &k, &v, 0), "put"); }
                        else { MDB_val k = {8, &e->key}; int64_t cell[2] = {e->a, e->c}; MDB_val v = {16, cell};
                               if (e->tag == 2) mdb_del(t, counters, &k, NULL); else CHECK(mdb_put(t, counters, &k, &v, 0), "put"); }
                    }
                    last = x->lsn;
                    double lag = now_seconds() - x->durable_at; if (lag > apply_lag_max) apply_lag_max = lag;
                }
                if (took_tail) took_tail->next = b; else took = b;
                for (took_tail = b; took_tail->next; took_tail = took_tail->next) {}
            }
            if (finished || now_seconds() - began >= apply_ms / 1000) break;
        }
        if (t) {
            double c0 = now_seconds();
            CHECK(mdb_txn_commit(t), "commit"); /* synced: the journal's half may be written over once this returns */
            apply_times[napply++] = now_seconds() - c0;
            pthread_mutex_lock(&mu);
            applied_lsn = last;
            for (batch_t *x = took; x; x = x->next) applied_ops = x->first_op + x->ops;
            for (batch_t *x = took, *next; x; x = next) { next = x->next; push(&applied, x); }
            pthread_cond_broadcast(&cv);
            pthread_mutex_unlock(&mu);
        }
        pthread_mutex_lock(&mu); int end = done_syncing && !to_apply.head; pthread_mutex_unlock(&mu);
        if (end && !t) break;
    }
    return NULL;
}

/* The decider takes back applied batches: renews its snapshot, then drops what the store holds. */
static void prune(void) {
    pthread_mutex_lock(&mu); batch_t *b = pop_all(&applied); uint64_t upto = applied_lsn; pthread_mutex_unlock(&mu);
    if (!b) return;
    mdb_txn_reset(snap); CHECK(mdb_txn_renew(snap), "renew");
    for (batch_t *x = b, *next; x; x = next) {
        next = x->next;
        for (uint64_t i = 0; i < x->n; i++) {
            effect_t *e = &x->e[i];
            if (e->tag == 3) { rec_slot *s = rec_find(e->id, 0); if (s && s->lsn <= upto) rec_remove(s); }
            else { cell_slot *s = cell_find(e->key, 0); if (s && s->lsn <= upto) cell_remove(s); }
        }
        free(x->e); free(x);
    }
}

int main(int argc, char **argv) {
    if (argc < 4 || argc > 8) { fprintf(stderr, "usage: writebehind WORKLOAD DIR PREFILL|- [RATE [SECONDS [APPLY_MS [BATCH]]]]\n"); return 64; }
    uint64_t count, prefillCount; op_t *ops = read_workload(argv[1], &count);
    op_t *prefill = read_prefill(argc, argv, 3, &prefillCount);
    double rate = argc > 4 ? atof(argv[4]) : 0, seconds_max = argc > 5 ? atof(argv[5]) : 0;
    apply_ms = argc > 6 ? atof(argv[6]) : 1000;
    uint64_t batch_max = argc > 7 ? (uint64_t)atol(argv[7]) : 512;
    CHECK(mdb_env_create(&env), "create");
    CHECK(mdb_env_set_mapsize(env, (size_t)16 << 30), "mapsize");
    CHECK(mdb_env_set_maxdbs(env, 4), "maxdbs");
    CHECK(mdb_env_open(env, argv[2], MDB_NOTLS | MDB_NOSYNC, 0600), "open");
    MDB_txn *t; CHECK(mdb_txn_begin(env, NULL, 0, &t), "begin");
    CHECK(mdb_dbi_open(t, "counters", MDB_CREATE, &counters), "dbi");
    CHECK(mdb_dbi_open(t, "payments", MDB_CREATE, &payments), "dbi");
    CHECK(mdb_txn_commit(t), "commit");
    totals_t want = {0}, have = {0};
    cell_cap = 1 << 23; rec_cap = 1 << 23;
    cells = malloc(cell_cap * sizeof *cells); recs = malloc(rec_cap * sizeof *recs);
    memset(cells, 0, cell_cap * sizeof *cells); memset(recs, 0, rec_cap * sizeof *recs); /* touched now, as an engine sizes its overlay when it opens */
    if (prefill) { /* the day store, written straight (large transactions, then one sync) */
        decided_t pd = decided_new(prefill, prefillCount);
        for (uint64_t i = 0; i < prefillCount; i += 10000) {
            CHECK(mdb_txn_begin(env, NULL, 0, &t), "begin");
            for (uint64_t j = i; j < prefillCount && j < i + 10000; j++) {
                const op_t *op = &prefill[j]; uint64_t keys[6]; int n = counter_keys(op, keys);
                if (op->kind != OP_AUTHORIZE) continue; /* each is confirmed: its record says so at once */
                int64_t cell[6][2] = {{0}}, ua[6], uc[6];
                for (int x = 0; x < n; x++) {
                    MDB_val k = {8, &keys[x]}, v;
                    if (mdb_get(t, counters, &k, &v) == 0) memcpy(cell[x], v.mv_data, 16);
                    ua[x] = cell[x][0]; uc[x] = cell[x][1];
                }
                int ok = approve(op, n, ua, uc);
                for (int x = 0; ok && x < n; x++) {
                    cell[x][0] += op->amount_fen; cell[x][1] += 1;
                    MDB_val k = {8, &keys[x]}, v = {16, cell[x]};
                    CHECK(mdb_put(t, counters, &k, &v, 0), "put");
                }
                record_t r = {ok ? ST_CONFIRMED : ST_DECLINED, op->institution, op->account_class, 0, op->card, op->amount_fen, op->time, 0};
                MDB_val k = {4, (void *)&op->payment}, v = {sizeof r, &r}; CHECK(mdb_put(t, payments, &k, &v, 0), "put");
                DECIDED(&pd, op->payment) = ok ? 1 : 2;
            }
            CHECK(mdb_txn_commit(t), "commit");
        }
        CHECK(mdb_env_sync(env, 1), "sync");
        expected_totals(prefill, prefillCount, &pd, &want);
    }
    CHECK(mdb_env_set_flags(env, MDB_NOSYNC, 0), "flags");
    char jpath[4096]; snprintf(jpath, sizeof jpath, "%s/journal", argv[2]);
    jfd = open(jpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (jfd < 0 || posix_fallocate(jfd, 0, 2 * HALF) != 0) { perror("journal"); return 3; }
    { char *z = calloc(1, 1 << 20); for (off_t o = 0; o < 2 * HALF; o += 1 << 20) if (pwrite(jfd, z, 1 << 20, o) != 1 << 20) { perror("journal"); return 3; } fsync(jfd); free(z); }
    CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &snap), "snapshot");
    apply_times = malloc(sizeof(double) * 100000);
    pthread_condattr_t ca; pthread_condattr_init(&ca); pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); pthread_cond_init(&cv, &ca);
    pthread_t ts, ta; pthread_create(&ts, NULL, syncer, NULL); pthread_create(&ta, NULL, applier, NULL);

    decided_t d = decided_new(ops, count);
    stats_t st = {0};
    double *due = malloc(sizeof(double) * count); uint64_t *batch_of = malloc(sizeof(uint64_t) * count);
    durable_at = calloc(count + 1, sizeof(double)); uint64_t nb = 0;
    double start = now_seconds() + 0.005;
    uint64_t i = 0, offered = count;
    int saturated = 0;
    if (rate > 0 && seconds_max > 0) { /* the ops of the payments due within SECONDS */
        offered = 0;
        while (offered < count && offered < (uint64_t)(2 * rate * seconds_max)) offered++;
        while (offered < count && !begins_unit(ops, offered)) offered++;
    }
    count = offered;
    while (i < count) {
        prune();
        pthread_mutex_lock(&mu); /* bounded: at most 2,000,000 operations not yet applied */
        while (i - applied_ops > 2000000) pthread_cond_wait(&cv, &mu);
        pthread_mutex_unlock(&mu);
        cur = calloc(1, sizeof *cur); cur->lsn = ++lsn_now; cur->idx = nb; cur->first_op = i;
        for (; i < count && cur->ops < batch_max; i++) {
            const op_t *op = &ops[i];
            /* open loop: due at its place in the schedule (two operations a payment, about); closed: when taken */
            due[i] = rate > 0 ? start + (double)i / (2 * rate) : now_seconds();
            if (rate > 0 && i > 0 && now_seconds() - due[i] > 1.0 && begins_unit(ops, i)) { saturated = 1; count = i; break; }
            if (rate > 0) { double now = now_seconds(); if (now < due[i]) {
                if (cur->ops) break; /* the batch goes to the journal while the decider waits */
                if (due[i] - now > 100e-6) usleep((useconds_t)((due[i] - now) * 1e6 - 50)); /* a spinning decider would take a core of two */
                while (now_seconds() < due[i]) {}
            } }
            batch_of[i] = nb; cur->ops++;
            run_op(OPS, op, &d, &st);
        }
        if (!cur->ops) { free(cur); lsn_now--; break; }
        if (cell_n + rec_n > overlay_peak) overlay_peak = cell_n + rec_n;
        if (cell_n > cell_cap / 2 || rec_n > rec_cap / 2) { fprintf(stderr, "writebehind: overlay full\n"); return 3; }
        nb++;
        pthread_mutex_lock(&mu); push(&to_sync, cur); pthread_cond_broadcast(&cv); pthread_mutex_unlock(&mu);
    }
    double *lat = malloc(sizeof(double) * count);
    pthread_mutex_lock(&mu); done_deciding = 1; pthread_cond_broadcast(&cv); pthread_mutex_unlock(&mu);
    pthread_join(ts, NULL);
    double seconds = 0;
    for (uint64_t b = 0; b < nb; b++) if (durable_at[b] - start > seconds) seconds = durable_at[b] - start;
    for (uint64_t k = 0; k < count; k++) lat[k] = durable_at[batch_of[k]] - due[k];
    pthread_join(ta, NULL);
    prune();
    qsort(lat, count, sizeof(double), by_double); qsort(apply_times, napply, sizeof(double), by_double);

    expected_totals(ops, count, &d, &want);
    mdb_txn_abort(snap);
    lmdb_totals(env, counters, &have);
    char setting[64], note[400];
    uint64_t payments_run = 0;
    for (uint64_t k = 0; k < count; k++) if (ops[k].kind == OP_AUTHORIZE && begins_unit(ops, k)) payments_run++;
    snprintf(note, sizeof note, "C prototype; %llu batches; applies %llu every %.0f ms: commit p50 %.0f ms, max %.0f ms; apply lag max %.0f ms; overlay peak %llu entries",
             (unsigned long long)nb, (unsigned long long)napply, apply_ms, napply ? apply_times[napply / 2] * 1e3 : 0,
             napply ? apply_times[napply - 1] * 1e3 : 0, apply_lag_max * 1e3, (unsigned long long)overlay_peak);
    int correct = totals_equal(&want, &have);
    if (rate > 0) {
        double achieved = payments_run / seconds;
        saturated = saturated || achieved < 0.95 * rate;
        printf("{\"setting\":\"write-behind, C prototype\",\"offeredPerSecond\":%.0f,\"requests\":%llu,\"completed\":%llu,\"achievedPerSecond\":%.1f,"
               "\"p50Microseconds\":%.0f,\"p99Microseconds\":%.0f,\"p999Microseconds\":%.0f,\"maxMicroseconds\":%.0f,\"saturated\":%s,\"correct\":%s,\"note\":\"%s\"}\n",
               rate, (unsigned long long)(rate * seconds_max), (unsigned long long)payments_run, achieved, lat[count / 2] * 1e6, lat[count * 99 / 100] * 1e6,
               lat[count * 999 / 1000] * 1e6, lat[count - 1] * 1e6, saturated ? "true" : "false", correct ? "true" : "false", note);
    } else {
        snprintf(setting, sizeof setting, "durable, write-behind");
        print_result("writebehind-c", setting, count, st.auths, seconds, st.approved, st.declined, st.errors, correct, note);
    }
    mdb_env_close(env);
    return 0;
}
