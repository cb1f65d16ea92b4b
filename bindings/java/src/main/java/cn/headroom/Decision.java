package cn.headroom;

/**
 * An authorization's answer.
 *
 * @param outcome  approve, decline or challenge
 * @param reason   the reason code: 0 approved, 111 to 452 the "exceeds" codes
 * @param reasonName the reason code's name ("exceedsBankDailyAmount")
 * @param rule     the id of the limit that decided; "" for an approval
 * @param tier     the tier of that limit, or {@link Tier#NONE}
 * @param ruleSet  the version of the rule set that decided
 * @param replayed true when the id was authorized before: this is its first answer again
 * @param headroom what is left on each tier after the decision, indexed by {@code Tier.ordinal() - 1}
 *                 (regulatory, bank, institution, card); {@code null} where no limit of the tier applied
 */
public record Decision(Outcome outcome, int reason, String reasonName, String rule, Tier tier, long ruleSet,
                       boolean replayed, TierHeadroom[] headroom) {

    /** What an authorization answers. */
    public enum Outcome { APPROVE, DECLINE, CHALLENGE }

    /** The tiers, in the order they are checked. */
    public enum Tier { NONE, REGULATORY, BANK, INSTITUTION, CARD }

    /**
     * The headroom left on one tier: how much more its tightest limit would take.
     *
     * @param amountFen the amount left in fen, or {@code null} when no limit of the tier counts amounts
     * @param count     the payments left, or {@code null} when no limit of the tier counts payments
     */
    public record TierHeadroom(Long amountFen, Long count) {}

    /** True when the payment was approved (its amount is reserved on every counter). */
    public boolean isApproved() {
        return outcome == Outcome.APPROVE;
    }

    /** The headroom left on {@code tier}, or {@code null} when no limit of it applied. */
    public TierHeadroom headroom(Tier tier) {
        return tier == Tier.NONE ? null : headroom[tier.ordinal() - 1];
    }
}
