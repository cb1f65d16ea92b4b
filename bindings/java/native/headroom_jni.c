/* The JNI glue of cn.headroom.Headroom: each native method is one call of include/headroom.h.
 * A status other than HEADROOM_OK becomes a cn.headroom.HeadroomException with the status and
 * the library's message. Java strings are held only for the call; the card number is passed
 * on and released, never copied here. */
#include <headroom.h>
#include <jni.h>
#include <stdlib.h>
#include <string.h>

static void throw_status(JNIEnv *env, int32_t status, const char *message) {
    jclass type = (*env)->FindClass(env, "cn/headroom/HeadroomException");
    if (type == NULL) return;
    jmethodID make = (*env)->GetMethodID(env, type, "<init>", "(ILjava/lang/String;)V");
    jstring text = (*env)->NewStringUTF(env, message);
    jobject thrown = (*env)->NewObject(env, type, make, (jint)status, text);
    if (thrown != NULL) (*env)->Throw(env, (jthrowable)thrown);
}

static void throw_error(JNIEnv *env, int32_t status, const headroom_error *error) {
    throw_status(env, status, error->message[0] ? error->message : headroom_strerror(status));
}

/* A Java string as UTF-8 for the call's length; NULL stays NULL. */
typedef struct { jstring java; const char *c; } text;

static text hold(JNIEnv *env, jstring s) {
    text t = { s, NULL };
    if (s != NULL) t.c = (*env)->GetStringUTFChars(env, s, NULL);
    return t;
}

static void let_go(JNIEnv *env, text t) {
    if (t.c != NULL) (*env)->ReleaseStringUTFChars(env, t.java, t.c);
}

JNIEXPORT jlong JNICALL Java_cn_headroom_Headroom_open0(JNIEnv *env, jclass cls, jstring store, jbyteArray key,
                                                        jstring rules, jboolean journal) {
    (void)cls;
    uint8_t card_key[32];
    (*env)->GetByteArrayRegion(env, key, 0, 32, (jbyte *)card_key);
    if ((*env)->ExceptionCheck(env)) return 0;
    text path = hold(env, store), directory = hold(env, rules);
    headroom_options options;
    headroom_options_init(&options);
    options.card_key = card_key;
    options.rules_directory = directory.c;
    options.journal = journal ? 1 : 0;
    headroom_engine *engine = NULL;
    headroom_error error;
    int32_t status = headroom_open(path.c, &options, &engine, &error);
    memset(card_key, 0, sizeof card_key);
    let_go(env, path);
    let_go(env, directory);
    if (status != HEADROOM_OK) { throw_error(env, status, &error); return 0; }
    return (jlong)(intptr_t)engine;
}

JNIEXPORT void JNICALL Java_cn_headroom_Headroom_close0(JNIEnv *env, jclass cls, jlong handle) {
    (void)cls;
    headroom_error error;
    int32_t status = headroom_close((headroom_engine *)(intptr_t)handle, &error);
    if (status != HEADROOM_OK) throw_error(env, status, &error);
}

static void put_decision(JNIEnv *env, const headroom_decision *d, jlongArray out, jbyteArray rule) {
    jlong values[5 + 4 * 5];
    values[0] = d->outcome;
    values[1] = d->reason;
    values[2] = d->tier;
    values[3] = d->rule_set;
    values[4] = d->replayed;
    for (int t = 0; t < HEADROOM_TIER_COUNT; t++) {
        const headroom_tier *h = &d->headroom[t];
        jlong *v = values + 5 + 5 * t;
        v[0] = h->applies;
        v[1] = h->amount_limited;
        v[2] = h->amount_fen;
        v[3] = h->count_limited;
        v[4] = h->count;
    }
    (*env)->SetLongArrayRegion(env, out, 0, 5 + 4 * 5, values);
    (*env)->SetByteArrayRegion(env, rule, 0, (jsize)sizeof d->rule, (const jbyte *)d->rule);
}

/* headroom_authorize, or (authorize false) headroom_explain. */
JNIEXPORT void JNICALL Java_cn_headroom_Headroom_judge0(JNIEnv *env, jclass cls, jlong handle, jboolean authorize, jstring id,
        jlong time, jstring card, jstring institution, jint business, jlong amount, jint account_class, jint channel,
        jint account_type, jlongArray out, jbyteArray rule) {
    (void)cls;
    text i = hold(env, id), c = hold(env, card), inst = hold(env, institution);
    headroom_payment payment = {
        .id = i.c, .time = time, .card = c.c, .institution = inst.c, .business = business, .amount_fen = amount,
        .account_class = account_class, .channel = channel, .account_type = account_type,
    };
    headroom_decision decision;
    headroom_error error;
    headroom_engine *engine = (headroom_engine *)(intptr_t)handle;
    int32_t status = authorize ? headroom_authorize(engine, &payment, &decision, &error)
                               : headroom_explain(engine, &payment, &decision, &error);
    let_go(env, i);
    let_go(env, c);
    let_go(env, inst);
    if (status != HEADROOM_OK) { throw_error(env, status, &error); return; }
    put_decision(env, &decision, out, rule);
}

typedef int32_t (*settle)(headroom_engine *, const char *, headroom_error *);

static void settle_id(JNIEnv *env, settle call, jlong handle, jstring id) {
    text i = hold(env, id);
    headroom_error error;
    int32_t status = call((headroom_engine *)(intptr_t)handle, i.c, &error);
    let_go(env, i);
    if (status != HEADROOM_OK) throw_error(env, status, &error);
}

JNIEXPORT void JNICALL Java_cn_headroom_Headroom_confirm0(JNIEnv *env, jclass cls, jlong handle, jstring id) {
    (void)cls;
    settle_id(env, headroom_confirm, handle, id);
}

JNIEXPORT void JNICALL Java_cn_headroom_Headroom_release0(JNIEnv *env, jclass cls, jlong handle, jstring id) {
    (void)cls;
    settle_id(env, headroom_release, handle, id);
}

JNIEXPORT void JNICALL Java_cn_headroom_Headroom_verify0(JNIEnv *env, jclass cls, jlong handle, jstring id) {
    (void)cls;
    settle_id(env, headroom_verify, handle, id);
}

JNIEXPORT void JNICALL Java_cn_headroom_Headroom_refund0(JNIEnv *env, jclass cls, jlong handle, jstring id, jstring original,
                                                         jlong amount, jlong time, jlongArray out) {
    (void)cls;
    text i = hold(env, id), o = hold(env, original);
    headroom_refund_request request = { .id = i.c, .original = o.c, .amount_fen = amount, .time = time };
    headroom_refund_result result;
    headroom_error error;
    int32_t status = headroom_refund((headroom_engine *)(intptr_t)handle, &request, &result, &error);
    let_go(env, i);
    let_go(env, o);
    if (status != HEADROOM_OK) { throw_error(env, status, &error); return; }
    jlong values[3] = { result.refunded_total_fen, result.remaining_fen, result.replayed };
    (*env)->SetLongArrayRegion(env, out, 0, 3, values);
}

JNIEXPORT void JNICALL Java_cn_headroom_Headroom_reconcile0(JNIEnv *env, jclass cls, jlong handle, jstring id, jstring batch,
        jstring status, jlong amount, jlong time, jstring institution, jstring card, jint business, jint account_class,
        jint channel, jint account_type, jlongArray out, jbyteArray over_limit) {
    (void)cls;
    text i = hold(env, id), b = hold(env, batch), s = hold(env, status), inst = hold(env, institution), c = hold(env, card);
    headroom_reconcile_line line = {
        .id = i.c, .batch = b.c, .status = s.c, .amount_fen = amount, .time = time, .institution = inst.c,
        .card = c.c, .business = business, .account_class = account_class, .channel = channel, .account_type = account_type,
    };
    headroom_reconcile_result result;
    headroom_error error;
    int32_t code = headroom_reconcile((headroom_engine *)(intptr_t)handle, &line, &result, &error);
    let_go(env, i);
    let_go(env, b);
    let_go(env, s);
    let_go(env, inst);
    let_go(env, c);
    if (code != HEADROOM_OK) { throw_error(env, code, &error); return; }
    jlong values[5] = { result.correction, result.state, result.amount_fen, result.amount_corrected, result.amount_corrected_from_fen };
    (*env)->SetLongArrayRegion(env, out, 0, 5, values);
    (*env)->SetByteArrayRegion(env, over_limit, 0, (jsize)sizeof result.over_limit, (const jbyte *)result.over_limit);
}

JNIEXPORT jstring JNICALL Java_cn_headroom_Headroom_metricsText0(JNIEnv *env, jclass cls) {
    (void)cls;
    size_t size = 0;
    int32_t status = headroom_metrics_text(NULL, 0, &size);
    for (int attempt = 0; attempt < 4; attempt++) {
        char *buffer = malloc(size);
        if (buffer == NULL) { throw_status(env, HEADROOM_EBUFFER, "no memory for the metrics text"); return NULL; }
        status = headroom_metrics_text(buffer, size, &size);
        if (status == HEADROOM_OK) {
            jstring text = (*env)->NewStringUTF(env, buffer);
            free(buffer);
            return text;
        }
        free(buffer);
        if (status != HEADROOM_EBUFFER) break;  /* grew meanwhile: try with the new size */
    }
    throw_status(env, status, headroom_strerror(status));
    return NULL;
}

JNIEXPORT jstring JNICALL Java_cn_headroom_Headroom_reasonName0(JNIEnv *env, jclass cls, jint reason) {
    (void)cls;
    return (*env)->NewStringUTF(env, headroom_reason_name(reason));
}

JNIEXPORT jstring JNICALL Java_cn_headroom_Headroom_version0(JNIEnv *env, jclass cls) {
    (void)cls;
    return (*env)->NewStringUTF(env, headroom_version());
}
