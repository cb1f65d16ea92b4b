/* One payment through Headroom's C interface: open a store, authorize, confirm, close.
 *
 *   swift build --product HeadroomC && scripts/libheadroom
 *   cc -std=c99 -Wall -Iinclude examples/c/authorize.c -L.build/debug -lheadroom \
 *      -Wl,-rpath,$PWD/.build/debug -o /tmp/authorize
 *   HEADROOM_CARD_KEY=$(openssl rand -hex 32) /tmp/authorize /tmp/headroom-c Rules
 *
 * The card key (64 hex digits) comes from the environment, as for the `headroom` command.
 */
#include <headroom.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hex_key(const char *hex, uint8_t key[32]) {
    if (hex == NULL || strlen(hex) != 64) return -1;
    for (int i = 0; i < 32; i++) {
        unsigned byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1) return -1;
        key[i] = (uint8_t)byte;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s STORE [RULES]  (HEADROOM_CARD_KEY: 64 hex digits)\n", argv[0]);
        return 64;
    }
    uint8_t key[32];
    if (hex_key(getenv("HEADROOM_CARD_KEY"), key) != 0) {
        fprintf(stderr, "authorize: HEADROOM_CARD_KEY must be 64 hex digits\n");
        return 64;
    }

    headroom_options options;
    headroom_options_init(&options);
    options.card_key = key;
    options.rules_directory = argc > 2 ? argv[2] : NULL; /* NULL: the rule set in force */

    headroom_engine *engine;
    headroom_error error;
    if (headroom_open(argv[1], &options, &engine, &error) != HEADROOM_OK) {
        fprintf(stderr, "authorize: %s\n", error.message);
        return 1;
    }

    headroom_payment payment = {
        .id = "N202611250001",
        .time = 1795569302, /* 2026-11-25T09:15:02+08:00 */
        .card = "6222020200112233446",
        .institution = "Z2007933000010",
        .business = HEADROOM_AGREEMENT,
        .amount_fen = 123456, /* 1,234.56 yuan */
        .account_class = HEADROOM_CLASS_I,
        .channel = HEADROOM_NOT_GIVEN,
        .account_type = HEADROOM_NOT_GIVEN,
    };
    headroom_decision decision;
    if (headroom_authorize(engine, &payment, &decision, &error) != HEADROOM_OK) {
        fprintf(stderr, "authorize: %s\n", error.message);
        headroom_close(engine, NULL);
        return 1;
    }
    printf("%s: %s (%s)%s%s, rule set %u%s\n", payment.id,
           decision.outcome == HEADROOM_APPROVE ? "approve" : "decline",
           headroom_reason_name(decision.reason), decision.rule[0] ? " by " : "", decision.rule, decision.rule_set,
           decision.replayed ? " (a retry: its first answer again)" : "");
    const headroom_tier *bank = &decision.headroom[HEADROOM_TIER_BANK - 1];
    if (bank->applies && bank->amount_limited)
        printf("bank tier: %lld.%02lld yuan left\n", (long long)(bank->amount_fen / 100), (long long)(bank->amount_fen % 100));

    if (decision.outcome == HEADROOM_APPROVE && !decision.replayed) {
        /* ... the core debit; when it succeeded: */
        if (headroom_confirm(engine, payment.id, &error) != HEADROOM_OK)
            fprintf(stderr, "authorize: confirm: %s\n", error.message);
        else
            printf("%s: confirmed\n", payment.id);
    }

    int status = headroom_close(engine, &error);
    if (status != HEADROOM_OK) {
        fprintf(stderr, "authorize: close: %s\n", error.message);
        return 1;
    }
    return 0;
}
