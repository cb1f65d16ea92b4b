/* Redis: the same counters, checks and idempotency records as the engine, as Lua scripts (each
 * atomic on the server), EVALSHA pipelined in batches, over a minimal RESP client. The harness
 * starts redis-server (appendfsync always or everysec) on 127.0.0.1 and stops it. PREFILL: a
 * day store's own payments, run first, untimed (pipelined by 1,000). SECONDS: stop after that long.
 * Usage: redis_peer WORKLOAD PORT SETTING-NAME [PIPELINE [PREFILL|- [SECONDS]]] */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *AUTHORIZE_LUA =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 3 end\n"
    "local amount = tonumber(ARGV[1])\n"
    "local ok = amount <= tonumber(ARGV[2]) and amount <= tonumber(ARGV[3])\n"
    "if ok then for i = 2, #KEYS do\n"
    "  local v = redis.call('HMGET', KEYS[i], 'a', 'c')\n"
    "  local a, c = tonumber(v[1] or 0), tonumber(v[2] or 0)\n"
    "  local acap, ccap = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])\n"
    "  if (acap > 0 and a + amount > acap) or (ccap > 0 and c + 1 > ccap) then ok = false break end\n"
    "end end\n"
    "if ok then\n"
    "  for i = 2, #KEYS do redis.call('HINCRBY', KEYS[i], 'a', amount) redis.call('HINCRBY', KEYS[i], 'c', 1) end\n"
    "  redis.call('HSET', KEYS[1], 's', 2, 'a', amount, 'k', table.concat(KEYS, ' ', 2))\n"
    "  return 1\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 's', 1, 'a', amount)\n"
    "return 2\n";
static const char *SETTLE_LUA =
    "if tonumber(redis.call('HGET', KEYS[1], 's') or 0) ~= 2 then return 0 end\n"
    "if ARGV[1] == 'release' then\n"
    "  local a = tonumber(redis.call('HGET', KEYS[1], 'a'))\n"
    "  for k in string.gmatch(redis.call('HGET', KEYS[1], 'k'), '%S+') do\n"
    "    redis.call('HINCRBY', k, 'a', -a) redis.call('HINCRBY', k, 'c', -1) end\n"
    "  redis.call('HSET', KEYS[1], 's', 4)\n"
    "else redis.call('HSET', KEYS[1], 's', 3) end\n"
    "return 1\n";
static const char *REFUND_LUA =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 3 end\n"
    "local v = redis.call('HMGET', KEYS[2], 's', 'a', 'r')\n"
    "if tonumber(v[1] or 0) ~= 3 then return 0 end\n"
    "local amount = tonumber(ARGV[1])\n"
    "if amount > tonumber(v[2]) - tonumber(v[3] or 0) then return 0 end\n"
    "redis.call('HINCRBY', KEYS[2], 'r', amount)\n"
    "redis.call('HSET', KEYS[1], 'a', amount)\n"
    "return 1\n";
static const char *TOTALS_LUA =
    "local t = {0,0,0,0,0,0,0,0,0,0,0,0}\n"
    "local cursor = '0'\n"
    "repeat\n"
    "  local r = redis.call('SCAN', cursor, 'MATCH', 'c:*', 'COUNT', 1000)\n"
    "  cursor = r[1]\n"
    "  for _, k in ipairs(r[2]) do\n"
    "    local kind = tonumber(string.sub(k, 3, 3))\n"
    "    local v = redis.call('HMGET', k, 'a', 'c')\n"
    "    t[2 * kind - 1] = t[2 * kind - 1] + tonumber(v[1] or 0)\n"
    "    t[2 * kind] = t[2 * kind] + tonumber(v[2] or 0)\n"
    "  end\n"
    "until cursor == '0'\n"
    "return t\n";

static int sock;
static char out[1 << 20]; static size_t out_len;
static char in[1 << 20]; static size_t in_len, in_pos;

static void flush_out(void) {
    size_t sent = 0;
    while (sent < out_len) { ssize_t n = write(sock, out + sent, out_len - sent); if (n <= 0) { perror("write"); exit(3); } sent += n; }
    out_len = 0;
}
static void put(const char *s, size_t n) {
    if (out_len + n + 32 > sizeof out) flush_out();
    out_len += sprintf(out + out_len, "$%zu\r\n", n); memcpy(out + out_len, s, n); out_len += n; out[out_len++] = '\r'; out[out_len++] = '\n';
}
static void command(int argc, const char **argv) {
    out_len += sprintf(out + out_len, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) put(argv[i], strlen(argv[i]));
}
static int getc_in(void) {
    if (in_pos == in_len) { ssize_t n = read(sock, in, sizeof in); if (n <= 0) { perror("read"); exit(3); } in_len = n; in_pos = 0; }
    return (unsigned char)in[in_pos++];
}
static void read_line(char *buf) { int c, i = 0; while ((c = getc_in()) != '\r') buf[i++] = (char)c; getc_in(); buf[i] = 0; }
/* Reads one reply: the integer for ':', the element count for '*', the length for '$' (skipping
 * the data into `bulk` when given). Errors stop the peer. */
static long long reply(char *bulk) {
    char line[512]; int type = getc_in(); read_line(line);
    if (type == '-') { fprintf(stderr, "redis: %s\n", line); exit(3); }
    if (type == '$') { long long n = atoll(line); if (n < 0) return -1; for (long long i = 0; i < n; i++) { int c = getc_in(); if (bulk) bulk[i] = (char)c; } if (bulk) bulk[n] = 0; getc_in(); getc_in(); return n; }
    return atoll(line);
}

static void counter_name(uint64_t key, char *buf) { sprintf(buf, "c:%d:%llx", key_kind(key), (unsigned long long)(key & ((1ULL << 60) - 1))); }

static char sha[3][64];

/* Sends ops in pipelined batches of `pipeline` (each ending where a payment ends). */
static void run(const op_t *ops, uint64_t count, int pipeline, decided_t *d, stats_t *s, double deadline) {
    char args[24][64]; const char *argvv[32]; /* 3 + 7 keys + 3 + 12 caps */
    uint64_t i = 0;
    while (i < count) {
        if (deadline > 0 && now_seconds() > deadline) break;
        uint64_t end = i + pipeline < count ? i + pipeline : count;
        while (end < count && !begins_unit(ops, end)) end++;
        for (uint64_t j = i; j < end; j++) {
            const op_t *op = &ops[j]; int n = 0;
            if (op->kind == OP_AUTHORIZE) {
                uint64_t keys[6]; int k = counter_keys(op, keys); int64_t ac[6], cc[6]; caps(op, ac, cc);
                argvv[n++] = "EVALSHA"; argvv[n++] = sha[0]; sprintf(args[0], "%d", k + 1); argvv[n++] = args[0];
                sprintf(args[1], "p:%u", op->payment); argvv[n++] = args[1];
                for (int x = 0; x < k; x++) { counter_name(keys[x], args[2 + x]); argvv[n++] = args[2 + x]; }
                sprintf(args[8], "%lld", (long long)op->amount_fen); argvv[n++] = args[8];
                argvv[n++] = "5000000"; argvv[n++] = op->institution == 0 ? "2000000" : "1000000";
                for (int x = 0; x < k; x++) {
                    sprintf(args[9 + 2 * x], "%lld", (long long)ac[x]); argvv[n++] = args[9 + 2 * x];
                    sprintf(args[10 + 2 * x], "%lld", (long long)cc[x]); argvv[n++] = args[10 + 2 * x];
                }
            } else if (op->kind == OP_REFUND) {
                argvv[n++] = "EVALSHA"; argvv[n++] = sha[2]; argvv[n++] = "2";
                sprintf(args[0], "p:%u", op->payment + 1000000000u); argvv[n++] = args[0];
                sprintf(args[1], "p:%u", op->payment); argvv[n++] = args[1];
                sprintf(args[2], "%lld", (long long)op->amount_fen); argvv[n++] = args[2];
            } else {
                argvv[n++] = "EVALSHA"; argvv[n++] = sha[1]; argvv[n++] = "1";
                sprintf(args[0], "p:%u", op->payment); argvv[n++] = args[0];
                argvv[n++] = op->kind == OP_CONFIRM ? "confirm" : "release";
            }
            command(n, argvv);
        }
        flush_out();
        for (uint64_t j = i; j < end; j++) {
            long long r = reply(NULL); const op_t *op = &ops[j];
            if (op->kind == OP_AUTHORIZE) {
                s->auths++;
                if (r == 1 || r == 2) { DECIDED(d, op->payment) = (char)r; if (r == 1) s->approved++; else s->declined++; }
            } else if (r == 0) s->errors++;
        }
        i = end;
    }
    s->ran = i;
}

int main(int argc, char **argv) {
    if (argc < 4 || argc > 7) { fprintf(stderr, "usage: redis_peer WORKLOAD PORT SETTING [PIPELINE [PREFILL|- [SECONDS]]]\n"); return 64; }
    uint64_t count, prefillCount; op_t *ops = read_workload(argv[1], &count);
    int pipeline = argc > 4 ? atoi(argv[4]) : 64;
    op_t *prefill = read_prefill(argc, argv, 5, &prefillCount);
    double seconds_max = read_seconds(argc, argv, 6);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    for (int tries = 0;; tries++) {
        sock = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(sock, (struct sockaddr *)&addr, sizeof addr) == 0) break;
        close(sock);
        if (tries > 100) { perror("connect"); return 3; }
        usleep(50000);
    }
    int one = 1; setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const char *scripts[3] = {AUTHORIZE_LUA, SETTLE_LUA, REFUND_LUA};
    for (int s = 0; s < 3; s++) { const char *a[] = {"SCRIPT", "LOAD", scripts[s]}; command(3, a); flush_out(); reply(sha[s]); }

    totals_t want = {0}, have = {0};
    if (prefill) {
        decided_t pd = decided_new(prefill, prefillCount);
        stats_t ps = {0};
        run(prefill, prefillCount, 1000, &pd, &ps, 0);
        expected_totals(prefill, prefillCount, &pd, &want);
    }
    decided_t d = decided_new(ops, count);
    stats_t s = {0};
    double start = now_seconds();
    run(ops, count, pipeline, &d, &s, seconds_max > 0 ? start + seconds_max : 0);
    double seconds = now_seconds() - start;

    expected_totals(ops, s.ran, &d, &want);
    const char *totals[] = {"EVAL", TOTALS_LUA, "0"}; command(3, totals); flush_out();
    long long elements = reply(NULL);
    for (long long e = 0; e < elements && e < 12; e++) {
        long long v = reply(NULL); int kind = (int)(e / 2) + 1;
        if (e % 2 == 0) have.amount[kind] = v; else have.count[kind] = v;
    }
    char note[96]; snprintf(note, sizeof note, "Lua script per op, EVALSHA pipelined by %d", pipeline);
    if (s.ran < count) snprintf(note + strlen(note), sizeof note - strlen(note), "; stopped after %g s", seconds_max);
    print_result("redis", argv[3], s.ran, s.auths, seconds, s.approved, s.declined, s.errors, totals_equal(&want, &have), note);
    return 0;
}
