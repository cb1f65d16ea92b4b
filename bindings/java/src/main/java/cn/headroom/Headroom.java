package cn.headroom;

import java.util.Objects;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.LongConsumer;

/**
 * Headroom for Java: one open store, through libheadroom.so's C interface (include/headroom.h).
 *
 * <p>One {@code Headroom} per store per process, shared by every thread: its calls are
 * thread-safe, go through group commit, and return once their operation is durable.
 * {@link #close()} waits for the calls in progress, and later calls throw
 * {@link IllegalStateException}. The card number is handed to the library, hashed
 * with the store's card key and never kept. Amounts are fen; times unix seconds; natural days
 * are China Standard Time.
 *
 * <pre>{@code
 * try (Headroom headroom = Headroom.open("/var/lib/headroom", cardKey, null)) {
 *     Decision d = headroom.authorize(new Headroom.Payment("N202611250001", 1795569302L,
 *         pan, "Z2007933000010", Headroom.Business.AGREEMENT, 123456, Headroom.AccountClass.I));
 *     if (d.isApproved()) headroom.confirm("N202611250001");
 * }
 * }</pre>
 */
public final class Headroom implements AutoCloseable {
    static {
        System.loadLibrary("headroom_jni");
    }

    /** The business types (业务类型); refunds go through {@link #refund}. */
    public enum Business {
        AGREEMENT(0), AUTHENTICATION(1), GATEWAY(2), ENTRUSTED(3), PAYOUT(5);
        final int code;
        Business(int code) { this.code = code; }
    }

    /** The account classes (I, II, III). */
    public enum AccountClass { I, II, III }

    /** The channels a payment may name. */
    public enum Channel { APP, PC, H5 }

    /** The account types a payment may name. */
    public enum AccountType { PERSONAL, CORPORATE }

    /**
     * A payment to authorize; {@code channel} and {@code accountType} may be {@code null}.
     */
    public record Payment(String id, long time, String card, String institution, Business business, long amountFen,
                          AccountClass accountClass, Channel channel, AccountType accountType) {
        public Payment(String id, long time, String card, String institution, Business business, long amountFen,
                       AccountClass accountClass) {
            this(id, time, card, institution, business, amountFen, accountClass, null, null);
        }
    }

    /** A refund's answer: refunded of the original so far, what remains, whether it was a retry. */
    public record RefundResult(long refundedTotalFen, long remainingFen, boolean replayed) {}

    /**
     * One line of a NetsUnion reconciliation file (docs/reconciliation.md). {@code status} is
     * "00", "01", "03" or "04"; {@code unseen} is {@code null} unless the line carries what
     * counting a payment the bank never saw takes.
     */
    public record ReconciliationLine(String id, String batch, String status, long amountFen, long time, String institution,
                                     Payment unseen) {}

    /** What reconciling a line changed on the bank's side. */
    public enum Correction { CONFIRMED, RECOUNTED, GIVEN_BACK, UNKNOWN_TO_BANK, UNCHANGED, ALREADY_RECONCILED }

    /** Where a payment stands. */
    public enum State { DECLINED, AUTHORIZED, CONFIRMED, RELEASED, REFUNDED, EXPIRED, REVERSED }

    /**
     * A reconciliation's answer: the correction, the payment's state after it, NetsUnion's
     * amount, the bank's amount when it differed ({@code null} otherwise) and the limit that
     * counting it went past ("" when none).
     */
    public record ReconcileResult(Correction correction, State state, long amountFen, Long amountCorrectedFromFen,
                                  String overLimit) {}

    private long handle;
    /** Calls hold it shared; {@link #close()} exclusively, so the store never closes under a call. */
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

    private Headroom(long handle) {
        this.handle = handle;
    }

    /**
     * Opens the store in {@code store}: with {@code rulesDirectory}, creating it when new; with
     * {@code null}, an existing store with the rule set in force.
     *
     * @param cardKey the store's card key, 32 bytes
     * @param journal journal mode (one process per store may journal)
     */
    public static Headroom open(String store, byte[] cardKey, String rulesDirectory, boolean journal) {
        Objects.requireNonNull(store, "store");
        Objects.requireNonNull(cardKey, "cardKey");
        if (cardKey.length != 32) throw new IllegalArgumentException("cardKey: 32 bytes, not " + cardKey.length);
        return new Headroom(open0(store, cardKey, rulesDirectory, journal));
    }

    /** {@link #open(String, byte[], String, boolean)} without journal mode. */
    public static Headroom open(String store, byte[] cardKey, String rulesDirectory) {
        return open(store, cardKey, rulesDirectory, false);
    }

    /** Checks a payment against every limit and, approved, reserves it; durable on return. */
    public Decision authorize(Payment p) {
        return judge(true, p);
    }

    /** The decision {@code p} would get now, changing nothing (a snapshot read). */
    public Decision explain(Payment p) {
        return judge(false, p);
    }

    private Decision judge(boolean authorize, Payment p) {
        long[] out = new long[5 + 4 * 5];
        byte[] rule = new byte[128];
        with(h -> judge0(h, authorize, p.id(), p.time(), p.card(), p.institution(), p.business().code, p.amountFen(),
                p.accountClass().ordinal(), p.channel() == null ? -1 : p.channel().ordinal(),
                p.accountType() == null ? -1 : p.accountType().ordinal(), out, rule));
        return decision(out, rule);
    }

    /** The core debit succeeded: the reservation becomes final. */
    public void confirm(String id) {
        Objects.requireNonNull(id, "id");
        with(h -> confirm0(h, id));
    }

    /** The core debit failed or was abandoned: the reservation is given back. */
    public void release(String id) {
        Objects.requireNonNull(id, "id");
        with(h -> release0(h, id));
    }

    /** The customer passed a challenged payment's step-up: it is approved (then confirm or release). */
    public void verify(String id) {
        Objects.requireNonNull(id, "id");
        with(h -> verify0(h, id));
    }

    /** Refunds part or all of a confirmed payment. */
    public RefundResult refund(String id, String original, long amountFen, long time) {
        long[] out = new long[3];
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(original, "original");
        with(h -> refund0(h, id, original, amountFen, time, out));
        return new RefundResult(out[0], out[1], out[2] != 0);
    }

    /** Applies NetsUnion's final word on one transaction, exactly once. */
    public ReconcileResult reconcile(ReconciliationLine line) {
        Objects.requireNonNull(line, "line");
        long[] out = new long[5];
        byte[] overLimit = new byte[128];
        Payment u = line.unseen();
        with(h -> reconcile0(h, line.id(), line.batch(), line.status(), line.amountFen(), line.time(), line.institution(),
                u == null ? null : u.card(), u == null ? 0 : u.business().code, u == null ? 0 : u.accountClass().ordinal(),
                u == null || u.channel() == null ? -1 : u.channel().ordinal(),
                u == null || u.accountType() == null ? -1 : u.accountType().ordinal(), out, overLimit));
        return new ReconcileResult(Correction.values()[(int) out[0] - 1], State.values()[(int) out[1] - 1], out[2],
                                   out[3] != 0 ? out[4] : null, text(overLimit));
    }

    /** Every engine's figures in this process, in Prometheus' text format. */
    public static String metricsText() {
        return metricsText0();
    }

    /** The library's version. */
    public static String version() {
        return version0();
    }

    /**
     * Waits for the calls in progress, answers what is waiting and closes the store; later
     * calls throw {@link IllegalStateException}. Closing again does nothing.
     */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (handle == 0) return;
            long h = handle;
            handle = 0;
            close0(h);
        } finally {
            lock.writeLock().unlock();
        }
    }

    private void with(LongConsumer call) {
        lock.readLock().lock();
        try {
            if (handle == 0) throw new IllegalStateException("this Headroom is closed");
            call.accept(handle);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** A NUL-terminated UTF-8 text the library wrote into {@code bytes}. */
    private static String text(byte[] bytes) {
        int length = 0;
        while (length < bytes.length && bytes[length] != 0) length++;
        return new String(bytes, 0, length, java.nio.charset.StandardCharsets.UTF_8);
    }

    private static Decision decision(long[] out, byte[] rule) {
        Decision.TierHeadroom[] tiers = new Decision.TierHeadroom[4];
        for (int t = 0; t < 4; t++) {
            int at = 5 + 5 * t;
            if (out[at] == 0) continue;
            tiers[t] = new Decision.TierHeadroom(out[at + 1] != 0 ? out[at + 2] : null, out[at + 3] != 0 ? out[at + 4] : null);
        }
        int reason = (int) out[1];
        return new Decision(Decision.Outcome.values()[(int) out[0] - 1], reason, reasonName0(reason), text(rule),
                            Decision.Tier.values()[(int) out[2]], out[3], out[4] != 0, tiers);
    }

    private static native long open0(String store, byte[] cardKey, String rulesDirectory, boolean journal);
    private static native void close0(long handle);
    /** headroom_authorize ({@code authorize}) or headroom_explain. */
    private static native void judge0(long handle, boolean authorize, String id, long time, String card, String institution,
                                      int business, long amountFen, int accountClass, int channel, int accountType, long[] out,
                                      byte[] rule);
    private static native void confirm0(long handle, String id);
    private static native void release0(long handle, String id);
    private static native void verify0(long handle, String id);
    private static native void refund0(long handle, String id, String original, long amountFen, long time, long[] out);
    private static native void reconcile0(long handle, String id, String batch, String status, long amountFen, long time,
                                          String institution, String card, int business, int accountClass, int channel,
                                          int accountType, long[] out, byte[] overLimit);
    private static native String metricsText0();
    private static native String reasonName0(int reason);
    private static native String version0();
}
