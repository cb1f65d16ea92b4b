/**
 * @file headroom.h
 * @brief Headroom's C interface: the limit and risk check of a NetsUnion front processor.
 *
 * Headroom checks a payment against the regulatory, bank-wide, per-institution and per-card
 * limits, reserves its amount on every counter durably (in LMDB) and answers approve or
 * decline, with the limit that decided and the headroom left on each tier. This header is
 * the whole of the C ABI of `libheadroom.so`; it is C99 and checked, by the test command,
 * against the declarations the Swift compiler generates for the library, so the two cannot
 * drift.
 *
 * Conventions, the same for every call:
 *
 *  - Every call that can fail returns a status: #HEADROOM_OK (0) or one of the
 *    `HEADROOM_E...` codes below, stable integers that never change meaning.
 *    headroom_strerror() names a status. Calls that can fail also take a
 *    `headroom_error *` (may be NULL): on failure it receives the status and a message
 *    saying what was wrong and where (the field, the id), NUL-terminated, truncated to fit.
 *  - Memory is the caller's. Results are written into structs and buffers the caller passes;
 *    nothing is handed across the boundary for the caller to free. Strings given to a call
 *    are read during the call and never kept.
 *  - The card number is taken in (as digits, 16 to 19, Luhn-checked), hashed at once with the
 *    store's card key (HMAC-SHA256) and never kept, logged or written in clear.
 *  - Amounts are integer fen (1 yuan = 100 fen); times are unix seconds. Natural days,
 *    months and years are counted in China Standard Time (UTC+8).
 *  - A #headroom_engine is safe to use from any number of threads at once: writes go through
 *    group commit (one LMDB transaction and one sync for the operations of many threads), and
 *    each call returns once its own operation is durable (as the durability option says).
 *  - A process opens a store once (an LMDB rule): open one engine per store and share it.
 *
 * Build and link, from the repository (docs/integration.md says more):
 *
 *     lib="$(scripts/libheadroom -c release)"     (builds libheadroom.so, prints its directory)
 *     cc -std=c99 -Iinclude app.c -L"$lib" -lheadroom -Wl,-rpath,"$lib" -o app
 */
#ifndef HEADROOM_H
#define HEADROOM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The version of this interface; a change that breaks a caller built against it raises it. */
#define HEADROOM_ABI_VERSION 1

/** @defgroup status Statuses
 *  What every call returns. The numbers are stable: a new status gets a new number.
 *  @{ */
#define HEADROOM_OK 0                      /**< Done. */
#define HEADROOM_EARGUMENT 1               /**< A NULL pointer or an out-of-range value where one is required. */
#define HEADROOM_EBUFFER 2                 /**< A caller's buffer is too small; nothing was written but the size it needs. */
#define HEADROOM_EINVALID_INPUT 10         /**< A field of the payment, line or options is malformed (the message names it). */
#define HEADROOM_EID_CONFLICT 11           /**< The id was used before for another payment. */
#define HEADROOM_EUNKNOWN_PAYMENT 12       /**< No payment with that id on record. */
#define HEADROOM_ENOT_APPROVED 13          /**< The payment was declined: nothing to confirm or release. */
#define HEADROOM_EALREADY_CONFIRMED 14     /**< Confirmed already: it can no longer be released. */
#define HEADROOM_EALREADY_RELEASED 15      /**< Released already: it can no longer be confirmed. */
#define HEADROOM_ENOT_CONFIRMED 16         /**< A refund names a payment that is not confirmed. */
#define HEADROOM_EEXPIRED 17               /**< The reservation's hold ran out and it was given back. */
#define HEADROOM_EREVERSED 18              /**< Reconciliation reversed the payment. */
#define HEADROOM_ERECONCILE_CONFLICT 19    /**< A reconciliation line contradicts one applied before. */
#define HEADROOM_EREFUND_EXCEEDS 20        /**< The refund exceeds what remains of the payment. */
#define HEADROOM_ENOT_A_PAYMENT 21         /**< The id names a refund, not a payment. */
#define HEADROOM_ECOUNTER_OVERFLOW 22      /**< A counter would overflow 64 bits: refused, nothing counted. */
#define HEADROOM_ECARD_LIMIT_ABOVE_BANK 23 /**< A customer card limit above the bank's. */
#define HEADROOM_ECARD_KEY_MISMATCH 24     /**< The card key is not the key this store was written with. */
#define HEADROOM_ECARD_KEY_UNAVAILABLE 25  /**< No card key given. */
#define HEADROOM_ENO_RULE_SET 26           /**< The store has no rule set in force and none was given. */
#define HEADROOM_EINVALID_RULES 27         /**< The rule files are invalid (the message names file, line and field). */
#define HEADROOM_ERULES_NOT_IN_FORCE 28    /**< The rule files given differ from the set in force (dual control). */
#define HEADROOM_EOVERLOADED 29            /**< The write queue is full: answer the payment as the bank decides for overload. */
#define HEADROOM_ESTORE_BUSY 30            /**< Another process journals this store. */
#define HEADROOM_ENO_STORE 31              /**< No store at that path (only opening with rules creates one). */
#define HEADROOM_ESTORE_NEEDS_MIGRATION 32 /**< The store was written by an older Headroom: `headroom store migrate`. */
#define HEADROOM_EJOURNAL_DAMAGED 33       /**< The journal is damaged or lost answered payments: the store is refused. */
#define HEADROOM_ESTORAGE 34               /**< LMDB or the file system failed (full disk, permissions). */
#define HEADROOM_ECORRUPTED 35             /**< A record in the store cannot be read. */
#define HEADROOM_ECHALLENGED 36            /**< The payment is challenged: verify (or release) it before confirming. */
#define HEADROOM_ENOT_CHALLENGED 37        /**< A verify names a payment that was not challenged. */
#define HEADROOM_EAGREEMENT_CONFLICT 38    /**< A signing contradicts the agreement on record. */
#define HEADROOM_EOTHER 99                 /**< A failure with no code of its own (rule governance); see the message. */
/** @} */

/** @defgroup outcome Outcomes of an authorization
 *  @{ */
#define HEADROOM_APPROVE 1   /**< Approved: the amount is reserved on every counter. */
#define HEADROOM_DECLINE 2   /**< Declined: nothing is counted. */
#define HEADROOM_CHALLENGE 3 /**< Step-up verification (a risk rule): the reservation is held until
                                   headroom_verify, headroom_release or the challenge hold's end. */
/** @} */

/** @defgroup tier Tiers, in the order they are checked
 *  @{ */
#define HEADROOM_TIER_NONE 0        /**< No tier (an approval, or a decision without a limit). */
#define HEADROOM_TIER_REGULATORY 1  /**< The central bank's caps by account class. */
#define HEADROOM_TIER_BANK 2        /**< The bank's own, bank-wide. */
#define HEADROOM_TIER_INSTITUTION 3 /**< Per payment institution. */
#define HEADROOM_TIER_CARD 4        /**< Per card (customer-set limits among them). */
#define HEADROOM_TIER_COUNT 4
/** @} */

/** @defgroup business Business types (业务类型)
 *  @{ */
#define HEADROOM_AGREEMENT 0      /**< 协议支付 */
#define HEADROOM_AUTHENTICATION 1 /**< 认证支付 */
#define HEADROOM_GATEWAY 2        /**< 网关支付 */
#define HEADROOM_ENTRUSTED 3      /**< 商业委托支付 */
#define HEADROOM_PAYOUT 5         /**< 付款 (refunds go through headroom_refund()) */
/** @} */

/** Account classes (I, II, III), account types and channels; -1 where optional means "not given". */
#define HEADROOM_CLASS_I 0
#define HEADROOM_CLASS_II 1
#define HEADROOM_CLASS_III 2
#define HEADROOM_PERSONAL 0
#define HEADROOM_CORPORATE 1
#define HEADROOM_CHANNEL_APP 0
#define HEADROOM_CHANNEL_PC 1
#define HEADROOM_CHANNEL_H5 2
#define HEADROOM_NOT_GIVEN (-1)

/** @defgroup durability What an answered payment survives
 *  @{ */
#define HEADROOM_SYNC_EACH_COMMIT 0 /**< Flushed before each answer: survives power loss. The default. */
#define HEADROOM_SYNC_EVERY 1       /**< Flushed every `sync_milliseconds`: a power loss loses at most that. */
#define HEADROOM_SYNC_OS_DECIDES 2  /**< The operating system writes when it likes: only process crashes are safe. */
/** @} */

/** Log levels for #headroom_options.log_level (logs go to standard error). */
#define HEADROOM_LOG_TRACE 0
#define HEADROOM_LOG_DEBUG 1
#define HEADROOM_LOG_INFO 2
#define HEADROOM_LOG_WARNING 3
#define HEADROOM_LOG_ERROR 4

/** An open store. Opaque; from headroom_open() to headroom_close(). */
typedef struct headroom_engine headroom_engine;

/** Where a failed call says what went wrong. */
typedef struct headroom_error {
    int32_t status;     /**< The status the call returned. */
    char message[256];  /**< What was wrong and where, NUL-terminated (truncated to fit). */
} headroom_error;

/** How to open a store. Fill with headroom_options_init(), then change what you need. */
typedef struct headroom_options {
    /** The store's card key, 32 bytes (the same key as `HEADROOM_CARD_KEY` for the
     *  `headroom` command). Required; copied during headroom_open(). */
    const uint8_t *card_key;
    /** A directory of rule files (Rules/, its .yaml files) to put in force in a new store, or to check
     *  against the set in force; NULL to use the rule set in force in the store. */
    const char *rules_directory;
    /** HEADROOM_SYNC_EACH_COMMIT (default), HEADROOM_SYNC_EVERY or HEADROOM_SYNC_OS_DECIDES. */
    int32_t durability;
    /** For HEADROOM_SYNC_EVERY: the flush interval, in milliseconds (default 100). */
    int32_t sync_milliseconds;
    /** Non-zero: journal mode (each batch made durable by a small journal append; LMDB
     *  checkpointed about every second). One process per store may journal. Default 0. */
    int32_t journal;
    /** The most operations in one batch (default 512) and waiting at once (default 65,536:
     *  beyond it, calls answer #HEADROOM_EOVERLOADED). */
    int32_t batch_max;
    int32_t queue_max;
    /** The memory map's first size, in bytes (default 1 GiB; it doubles when full). */
    uint64_t map_size_bytes;
    /** The least severe log events written to standard error (default HEADROOM_LOG_INFO). */
    int32_t log_level;
} headroom_options;

/** A payment to authorize. Strings are NUL-terminated and read only during the call. */
typedef struct headroom_payment {
    const char *id;            /**< NetsUnion's transaction id, 1 to 64 printable ASCII characters, no space. */
    int64_t time;              /**< When the payment was made, unix seconds. */
    const char *card;          /**< The card number, digits only; hashed, never kept. */
    const char *institution;   /**< The payment institution's code (e.g. "Z2007933000010"). */
    int32_t business;          /**< HEADROOM_AGREEMENT ... HEADROOM_PAYOUT. */
    int64_t amount_fen;        /**< The amount, in fen, above zero. */
    int32_t account_class;     /**< HEADROOM_CLASS_I, _II or _III. */
    int32_t channel;           /**< HEADROOM_CHANNEL_..., or HEADROOM_NOT_GIVEN. */
    int32_t account_type;      /**< HEADROOM_PERSONAL, HEADROOM_CORPORATE, or HEADROOM_NOT_GIVEN. */
} headroom_payment;

/** The headroom left on one tier after the decision: how much more the tightest limit of
 *  the tier would take. A measure no limit of the tier counts is "unlimited". */
typedef struct headroom_tier {
    int32_t applies;          /**< Non-zero when some limit of this tier applied to the payment. */
    int32_t amount_limited;   /**< Non-zero when amount_fen is meaningful. */
    int64_t amount_fen;       /**< The amount left, in fen. */
    int32_t count_limited;    /**< Non-zero when count is meaningful. */
    int64_t count;            /**< The number of payments left. */
} headroom_tier;

/** An authorization's answer. */
typedef struct headroom_decision {
    int32_t outcome;          /**< HEADROOM_APPROVE, HEADROOM_DECLINE or HEADROOM_CHALLENGE. */
    int32_t reason;           /**< The reason code: 0 approved; 111..452 "exceeds" codes (headroom_reason_name()). */
    int32_t tier;             /**< The tier of the limit that decided (HEADROOM_TIER_NONE for an approval). */
    uint32_t rule_set;        /**< The version of the rule set that decided. */
    int32_t replayed;         /**< Non-zero when the id was authorized before: this is its first answer again. */
    char rule[128];           /**< The id of the limit (rule) that decided, NUL-terminated; "" for an approval. */
    headroom_tier headroom[HEADROOM_TIER_COUNT]; /**< Indexed by tier - 1: regulatory, bank, institution, card. */
} headroom_decision;

/** A refund of part or all of a confirmed payment. */
typedef struct headroom_refund_request {
    const char *id;           /**< The refund's own id. */
    const char *original;     /**< The id of the confirmed payment refunded. */
    int64_t amount_fen;       /**< Above zero, at most what remains of the original. */
    int64_t time;             /**< Unix seconds. */
} headroom_refund_request;

/** A refund's answer. */
typedef struct headroom_refund_result {
    int64_t refunded_total_fen; /**< Refunded of the original so far, this refund included. */
    int64_t remaining_fen;      /**< What can still be refunded. */
    int32_t replayed;           /**< Non-zero when the refund id was applied before. */
} headroom_refund_result;

/** @defgroup state Where a payment stands (headroom_reconcile_result.state)
 *  @{ */
#define HEADROOM_STATE_DECLINED 1   /**< Declined: nothing counted. */
#define HEADROOM_STATE_AUTHORIZED 2 /**< Approved, its reservation held. */
#define HEADROOM_STATE_CONFIRMED 3  /**< Approved and debited: counted for good. */
#define HEADROOM_STATE_RELEASED 4   /**< Approved, then released: given back. */
#define HEADROOM_STATE_REFUNDED 5   /**< A refund's own record. */
#define HEADROOM_STATE_EXPIRED 6    /**< Its hold ran out unsettled: given back. */
#define HEADROOM_STATE_REVERSED 7   /**< Reconciliation said it failed: given back. */
#define HEADROOM_STATE_CHALLENGED 8 /**< Challenged: its reservation held while the customer verifies. */
/** @} */

/** @defgroup correction What reconciling a line changed (headroom_reconcile_result.correction)
 *  @{ */
#define HEADROOM_CORRECTION_CONFIRMED 1         /**< A held reservation NetsUnion says succeeded: confirmed. */
#define HEADROOM_CORRECTION_RECOUNTED 2         /**< Released, expired or declined, but it succeeded: counted again (even above a cap). */
#define HEADROOM_CORRECTION_GIVEN_BACK 3        /**< NetsUnion says it failed: what it held was given back. */
#define HEADROOM_CORRECTION_UNKNOWN_TO_BANK 4   /**< No record of it: recorded (and counted when it succeeded). */
#define HEADROOM_CORRECTION_UNCHANGED 5         /**< The bank's record already agreed. */
#define HEADROOM_CORRECTION_ALREADY_RECONCILED 6 /**< The same line was applied before: nothing changed. */
/** @} */

/** One transaction's line of a NetsUnion reconciliation file (对账), docs/reconciliation.md. */
typedef struct headroom_reconcile_line {
    const char *id;            /**< The transaction id. */
    const char *batch;         /**< The batch, "B" + yyyyMMdd + 4 digits ("B202611250013"). */
    const char *status;        /**< NetsUnion's final status: "00", "01", "03" or "04". */
    int64_t amount_fen;        /**< NetsUnion's amount, which wins over the bank's. */
    int64_t time;              /**< The transaction's time, unix seconds. */
    const char *institution;   /**< The institution that sent it. */
    /** For a payment the bank has no record of, what counting it takes: its card (NULL when the
     *  line does not carry it; then the fields below are ignored), business type, account
     *  class, channel and account type (HEADROOM_NOT_GIVEN where not given). */
    const char *card;
    int32_t business;
    int32_t account_class;
    int32_t channel;
    int32_t account_type;
} headroom_reconcile_line;

/** What reconciling one line did. */
typedef struct headroom_reconcile_result {
    int32_t correction;             /**< HEADROOM_CORRECTION_... */
    int32_t state;                  /**< The payment's state after it (HEADROOM_STATE_...). */
    int64_t amount_fen;             /**< NetsUnion's amount, which the record now holds. */
    int32_t amount_corrected;       /**< Non-zero when the bank's amount differed ... */
    int64_t amount_corrected_from_fen; /**< ... and was this (the counters followed NetsUnion's). */
    char over_limit[128];           /**< The limit that counting it went past, NUL-terminated; "" when none. */
} headroom_reconcile_result;

/** Fills `options` with the defaults (no card key, no rules directory). */
void headroom_options_init(headroom_options *options);

/** Opens the store in the directory `path` (creating it only when `options->rules_directory`
 *  is given) and starts its writer thread.
 *  @param[out] engine set to the open engine on success, NULL on failure.
 *  @return HEADROOM_OK, or HEADROOM_ENO_STORE, HEADROOM_ECARD_KEY_MISMATCH,
 *          HEADROOM_EINVALID_RULES, HEADROOM_ESTORE_BUSY, HEADROOM_EJOURNAL_DAMAGED, ... */
int32_t headroom_open(const char *path, const headroom_options *options, headroom_engine **engine, headroom_error *error);

/** Answers what is waiting, stops the writer, closes the store and frees the engine. Call it
 *  once, after every other call on the engine has returned; `engine` is invalid afterwards.
 *  A failure (in journal mode, a last checkpoint that failed) is returned, and what was
 *  answered is then still in the journal, applied when the store next opens. */
int32_t headroom_close(headroom_engine *engine, headroom_error *error);

/** Checks a payment against every limit and, when approved, reserves its amount on every
 *  counter; returns once that is durable. A declined payment is answered HEADROOM_OK with
 *  `decision->outcome` HEADROOM_DECLINE: a status other than HEADROOM_OK means there is no
 *  decision (a malformed field, an id used for another payment, overload, storage). */
int32_t headroom_authorize(headroom_engine *engine, const headroom_payment *payment, headroom_decision *decision, headroom_error *error);

/** The core debit succeeded: the reservation becomes final. A second confirm answers
 *  HEADROOM_EALREADY_CONFIRMED (the payment stays confirmed); a confirm past the hold time,
 *  HEADROOM_EEXPIRED. */
int32_t headroom_confirm(headroom_engine *engine, const char *id, headroom_error *error);

/** The core debit failed or was abandoned: the reservation is given back on every counter.
 *  A second release answers HEADROOM_EALREADY_RELEASED; a release of a confirmed payment,
 *  HEADROOM_EALREADY_CONFIRMED (a confirmed payment is refunded). */
int32_t headroom_release(headroom_engine *engine, const char *id, headroom_error *error);

/** The customer passed a challenged payment's step-up: it is approved, its reservation now held
 *  for its business's hold time (then confirm or release as usual). A second verify answers
 *  HEADROOM_OK; a verify past the challenge hold, HEADROOM_EEXPIRED; of a payment that was not
 *  challenged, HEADROOM_ENOT_CHALLENGED. */
int32_t headroom_verify(headroom_engine *engine, const char *id, headroom_error *error);

/** Refunds part or all of a confirmed payment (restoring the counters the rules say). */
int32_t headroom_refund(headroom_engine *engine, const headroom_refund_request *refund, headroom_refund_result *result, headroom_error *error);

/** Applies NetsUnion's final word on one transaction, exactly once: the same line again answers
 *  HEADROOM_CORRECTION_ALREADY_RECONCILED; another status or amount for a line applied before,
 *  HEADROOM_ERECONCILE_CONFLICT (nothing applied). */
int32_t headroom_reconcile(headroom_engine *engine, const headroom_reconcile_line *line, headroom_reconcile_result *result, headroom_error *error);

/** The decision `payment` would get now, changing nothing: a snapshot read on the caller's
 *  thread that waits for no writer. In journal mode the snapshot is the last checkpoint's (at
 *  most about a second old): it can show more headroom than the payments answered since leave. */
int32_t headroom_explain(headroom_engine *engine, const headroom_payment *payment, headroom_decision *decision, headroom_error *error);

/** Writes the engine's metrics (every engine of the process) in Prometheus' text exposition
 *  format into `buffer`, NUL-terminated, for the host to serve on its own endpoint
 *  (docs/integration.md lists the figures). `buffer` NULL with `size` 0 asks for the size.
 *  @param[out] length the text's length without the NUL; when the buffer is too small
 *              (HEADROOM_EBUFFER, nothing written), the size it needs, NUL included. The text
 *              can grow between two calls (a new label): call again with the new size. */
int32_t headroom_metrics_text(char *buffer, size_t size, size_t *length);

/** The name of a status ("HEADROOM_EOVERLOADED: the write queue is full"). Static; never NULL. */
const char *headroom_strerror(int32_t status);

/** The name of a reason code ("exceedsBankDailyAmount"), static; "unknown" for no such code. */
const char *headroom_reason_name(int32_t reason);

/** The library's version ("0.14.0 (store schema 5, journal format 2)"). Static. */
const char *headroom_version(void);

#ifdef __cplusplus
}
#endif

#endif /* HEADROOM_H */
