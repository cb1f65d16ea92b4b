package cn.headroom.examples;

import cn.headroom.Decision;
import cn.headroom.Headroom;
import java.util.HexFormat;

/**
 * One payment through Headroom from Java: open a store, authorize, confirm, close.
 *
 * <pre>
 * java -Djava.library.path=DIR_OF_libheadroom_jni.so -cp classes cn.headroom.examples.Authorize STORE [RULES]
 * </pre>
 * The card key (64 hex digits) comes from {@code HEADROOM_CARD_KEY}, as for the {@code headroom} command.
 */
public final class Authorize {
    public static void main(String[] args) {
        if (args.length < 1) {
            System.err.println("usage: Authorize STORE [RULES]  (HEADROOM_CARD_KEY: 64 hex digits)");
            System.exit(64);
        }
        String hex = System.getenv("HEADROOM_CARD_KEY");
        if (hex == null || hex.length() != 64) {
            System.err.println("Authorize: HEADROOM_CARD_KEY must be 64 hex digits");
            System.exit(64);
        }
        byte[] key = HexFormat.of().parseHex(hex);
        try (Headroom headroom = Headroom.open(args[0], key, args.length > 1 ? args[1] : null)) {
            Headroom.Payment payment = new Headroom.Payment("N202611250001", 1795569302L /* 2026-11-25T09:15:02+08:00 */,
                    "6222020200112233446", "Z2007933000010", Headroom.Business.AGREEMENT, 123456 /* 1,234.56 yuan */,
                    Headroom.AccountClass.I);
            Decision d = headroom.authorize(payment);
            System.out.printf("%s: %s (%s)%s, rule set %d%s%n", payment.id(), d.outcome().name().toLowerCase(), d.reasonName(),
                    d.rule().isEmpty() ? "" : " by " + d.rule(), d.ruleSet(), d.replayed() ? " (a retry: its first answer again)" : "");
            Decision.TierHeadroom bank = d.headroom(Decision.Tier.BANK);
            if (bank != null && bank.amountFen() != null) {
                System.out.printf("bank tier: %d.%02d yuan left%n", bank.amountFen() / 100, bank.amountFen() % 100);
            }
            if (d.isApproved() && !d.replayed()) {
                headroom.confirm(payment.id()); // after the core debit succeeded
                System.out.println(payment.id() + ": confirmed");
            }
        }
    }
}
