package cn.headroom;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The Java binding under many threads (scripts/test-bindings runs it, then compares its
 * decisions with `headroom replay`'s on the same input).
 *
 * <p>Usage: {@code HeadroomTest WORK_DIR COMPARE_RULES RACE_RULES}. Part one: 3,000 payments on
 * 400 cards from 8 threads (each owning its cards, so a card's answers do not depend on how the
 * threads interleave) under per-card caps; writes WORK_DIR/payments.jsonl (the same payments as
 * replay lines) and WORK_DIR/java-decisions.txt ("id outcome code rule bank=AMOUNT/COUNT left" per
 * payment, in input order). Then the lifecycle calls and their refusals. Part two: 16 threads race for a
 * bank-wide cap of 20,000.00 on a new store: the approvals must never pass it nor a card's cap,
 * and the metrics text must count exactly the approvals of both parts.
 */
public final class HeadroomTest {
    static final long DAY = 1795536000L; // 2026-11-25T00:00:00+08:00
    static final byte[] KEY = new byte[32];
    static final DateTimeFormatter ISO = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ssxxx").withZone(ZoneOffset.ofHours(8));
    static final AtomicInteger failures = new AtomicInteger();

    static void check(boolean ok, String what) {
        if (!ok) {
            failures.incrementAndGet();
            System.err.println("HeadroomTest: FAIL: " + what);
        }
    }

    /** A Luhn-valid 16-digit card number. */
    static String card(int n) {
        String body = String.format("622202%09d", 200000 + n * 7919);
        int sum = 0;
        for (int i = body.length() - 1, k = 0; i >= 0; i--, k++) {
            int d = body.charAt(i) - '0';
            if (k % 2 == 0) { d *= 2; if (d > 9) d -= 9; }
            sum += d;
        }
        return body + (10 - sum % 10) % 10;
    }

    public static void main(String[] args) throws Exception {
        Arrays.fill(KEY, (byte) 0x3c);
        Path work = Path.of(args[0]);
        long approvals = compare(work, args[1]);
        approvals += race(work.resolve("race-store").toString(), args[2]);
        String metrics = Headroom.metricsText();
        String line = "headroom_authorizations_total{outcome=\"approve\",code=\"approved\",tier=\"none\"} " + approvals;
        check(metrics.contains(line), "the metrics text lacks: " + line);
        check(!metrics.contains(card(0)), "the metrics text shows a card number");
        if (failures.get() > 0) System.exit(1);
        System.out.println("HeadroomTest: passed (" + Headroom.version() + ")");
    }

    /** Part one: many threads, decisions written for the comparison with replay. */
    static long compare(Path work, String rules) throws Exception {
        int count = 3000, cards = 400, threads = 8;
        SplittableRandom random = new SplittableRandom(20261125L);
        List<Headroom.Payment> payments = new ArrayList<>();
        try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(work.resolve("payments.jsonl")))) {
            for (int i = 0; i < count; i++) {
                long time = DAY + 8 * 3600 + i * 7L;
                long fen = 100 + random.nextLong(60000);
                Headroom.Payment p = new Headroom.Payment(String.format("J2026112500%05d", i), time, card(random.nextInt(cards)),
                        "Z2007933000010", Headroom.Business.AGREEMENT, fen, Headroom.AccountClass.I);
                payments.add(p);
                out.printf("{\"op\":\"authorize\",\"id\":\"%s\",\"time\":\"%s\",\"card\":\"%s\",\"institution\":\"%s\","
                        + "\"business\":\"agreement\",\"amount\":\"%d.%02d\",\"account_class\":\"I\"}%n",
                        p.id(), ISO.format(Instant.ofEpochSecond(time)), p.card(), p.institution(), fen / 100, fen % 100);
            }
        }
        Decision[] decisions = new Decision[count];
        try (Headroom headroom = Headroom.open(work.resolve("java-store").toString(), KEY, rules)) {
            List<Thread> running = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                final int own = t;
                Thread thread = new Thread(() -> {
                    for (int i = 0; i < count; i++) {
                        Headroom.Payment p = payments.get(i);
                        if (Math.floorMod(p.card().hashCode(), threads) == own) decisions[i] = headroom.authorize(p);
                    }
                });
                thread.start();
                running.add(thread);
            }
            for (Thread thread : running) thread.join();
            long approved = 0;
            try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(work.resolve("java-decisions.txt")))) {
                for (int i = 0; i < count; i++) {
                    Decision d = decisions[i];
                    Decision.TierHeadroom bank = d.headroom(Decision.Tier.BANK);
                    String left = bank == null ? "null" : (bank.amountFen() == null ? "null"
                            : String.format("%d.%02d", bank.amountFen() / 100, bank.amountFen() % 100)) + "/" + bank.count();
                    out.printf("%s %s %s %s bank=%s%n", payments.get(i).id(), d.outcome().name().toLowerCase(), d.reasonName(),
                               d.rule().isEmpty() ? "-" : d.rule(), left);
                    if (d.isApproved()) approved++;
                }
            }
            check(approved > 0 && approved < count, "part one: every payment got the same answer");
            return approved + lifecycle(headroom, payments, decisions);
        }
    }

    /** The calls after an authorization, and their refusals; answers how many it approved. */
    static int lifecycle(Headroom headroom, List<Headroom.Payment> payments, Decision[] decisions) {
        int first = -1, second = -1, declined = -1;
        for (int i = 0; i < decisions.length; i++) {
            if (decisions[i].isApproved()) {
                if (first < 0) first = i; else if (second < 0) second = i;
            } else if (declined < 0) {
                declined = i;
            }
        }
        Headroom.Payment a = payments.get(first);
        // explain changes nothing: the same payment explained twice, then authorized, gets one answer.
        Headroom.Payment probe = new Headroom.Payment("J-PROBE", a.time(), a.card(), a.institution(), a.business(), 45000,
                a.accountClass());
        Decision explained = headroom.explain(probe);
        Decision again0 = headroom.explain(probe);
        Decision authorized = headroom.authorize(probe);
        check(explained.outcome() == again0.outcome() && explained.outcome() == authorized.outcome()
                && explained.reason() == authorized.reason() && !explained.replayed(), "explain: " + explained + " then " + authorized);
        headroom.confirm(a.id());
        Headroom.RefundResult refund = headroom.refund("JR" + a.id(), a.id(), 1, DAY + 20 * 3600);
        check(refund.refundedTotalFen() == 1 && refund.remainingFen() == a.amountFen() - 1 && !refund.replayed(), "refund: " + refund);
        check(headroom.refund("JR" + a.id(), a.id(), 1, DAY + 20 * 3600).replayed(), "a repeated refund is not a retry");
        // NetsUnion says the confirmed payment failed: given back, exactly once; a contradiction refused.
        Headroom.ReconciliationLine failed = new Headroom.ReconciliationLine(a.id(), "B202611250013", "01", a.amountFen(), a.time(),
                a.institution(), null);
        Headroom.ReconcileResult reversed = headroom.reconcile(failed);
        check(reversed.correction() == Headroom.Correction.GIVEN_BACK && reversed.state() == Headroom.State.REVERSED
                && reversed.amountFen() == a.amountFen() && reversed.amountCorrectedFromFen() == null, "reconcile: " + reversed);
        check(headroom.reconcile(failed).correction() == Headroom.Correction.ALREADY_RECONCILED, "the same line again");
        expect(19, () -> headroom.reconcile(new Headroom.ReconciliationLine(a.id(), "B202611250013", "00", a.amountFen(), a.time(),
                a.institution(), null)), "a contradicting line"); // HEADROOM_ERECONCILE_CONFLICT
        Headroom.ReconcileResult unseen = headroom.reconcile(new Headroom.ReconciliationLine("J-UNSEEN", "B202611250013", "00", 100,
                a.time(), a.institution(), new Headroom.Payment("J-UNSEEN", a.time(), card(999), a.institution(),
                Headroom.Business.AGREEMENT, 100, Headroom.AccountClass.I)));
        check(unseen.correction() == Headroom.Correction.UNKNOWN_TO_BANK && unseen.state() == Headroom.State.CONFIRMED, "unseen: " + unseen);
        headroom.release(payments.get(second).id());
        Decision again = headroom.authorize(payments.get(second));
        check(again.replayed() && again.isApproved(), "a retried id does not get its first answer");
        Decision d = decisions[declined];
        String declinedID = payments.get(declined).id();
        check(d.tier() == Decision.Tier.BANK && !d.rule().isEmpty() && d.reason() != 0, "a decline without its rule: " + d);
        expect(12, () -> headroom.confirm("NEVER-SEEN"), "an unknown id"); // HEADROOM_EUNKNOWN_PAYMENT
        expect(13, () -> headroom.confirm(declinedID), "a declined payment"); // HEADROOM_ENOT_APPROVED
        String approvedID = payments.get(second).id();
        expect(37, () -> headroom.verify(approvedID), "a verify of a payment never challenged"); // HEADROOM_ENOT_CHALLENGED
        expect(10, () -> headroom.authorize(new Headroom.Payment("J-BAD", DAY, "6222020200112233447", "Z2007933000010",
                Headroom.Business.AGREEMENT, 100, Headroom.AccountClass.I)), "a card failing the Luhn check");
        expect(11, () -> headroom.authorize(new Headroom.Payment(a.id(), a.time(), a.card(), a.institution(), a.business(),
                a.amountFen() + 1, a.accountClass())), "an id reused with another amount");
        return authorized.isApproved() ? 1 : 0;
    }

    static void expect(int status, Runnable call, String what) {
        try {
            call.run();
            check(false, what + ": no exception");
        } catch (HeadroomException e) {
            check(e.status() == status, what + ": status " + e.status() + " (" + e.getMessage() + "), not " + status);
            check(!e.getMessage().contains("6222020200112233447"), what + ": the message shows the card number");
        }
    }

    /** Part two: a race for a bank-wide cap; answers how many were approved. */
    static long race(String store, String rules) throws Exception {
        int threads = 16, each = 300, cards = 24;
        long[][] fen = new long[threads][cards];
        long[][] count = new long[threads][cards];
        Headroom headroom = Headroom.open(store, KEY, rules);
        List<Thread> running = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            final int own = t;
            Thread thread = new Thread(() -> {
                SplittableRandom random = new SplittableRandom(own);
                for (int i = 0; i < each; i++) {
                    int c = random.nextInt(cards);
                    long amount = 1000 + random.nextLong(30000);
                    Decision d = headroom.authorize(new Headroom.Payment(String.format("R%02d%05d", own, i), DAY + 3600 + i,
                            card(c), "Z2007933000010", Headroom.Business.AGREEMENT, amount, Headroom.AccountClass.I));
                    if (d.isApproved()) {
                        fen[own][c] += amount;
                        count[own][c]++;
                    }
                }
            });
            thread.start();
            running.add(thread);
        }
        for (Thread thread : running) thread.join();
        headroom.close();
        headroom.close(); // a second close does nothing
        try {
            headroom.confirm("R0000000");
            check(false, "a call after close was not refused");
        } catch (IllegalStateException expected) {
            // refused, as documented
        }
        long total = 0, approved = 0;
        for (int c = 0; c < cards; c++) {
            long cardFen = 0, cardCount = 0;
            for (int t = 0; t < threads; t++) { cardFen += fen[t][c]; cardCount += count[t][c]; }
            check(cardFen <= 100000 && cardCount <= 7, "card " + c + " over its cap: " + cardFen + " fen in " + cardCount);
            total += cardFen;
            approved += cardCount;
        }
        check(total <= 2000000, "the bank over its cap: " + total + " fen");
        check(approved > 0 && approved < threads * each, "part two: no race");
        System.out.printf("HeadroomTest: race: %d threads, %d payments, %d approved (%d fen), no cap exceeded%n",
                threads, threads * each, approved, total);
        return approved;
    }
}
