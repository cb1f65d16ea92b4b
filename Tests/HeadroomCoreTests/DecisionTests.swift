import HeadroomCore
import Testing

@Suite struct DecisionTests {
    static let debit: Set<Business> = [.agreement, .authentication, .gateway, .entrusted]
    static let card = CardHash(high: 11, low: 12)

    static func payment(_ amount: Int64, institution: String = "Z1", business: Business = .agreement,
                        accountClass: AccountClass = .classI, time: String = "2026-11-25T10:00:00+08:00") throws -> Payment {
        Payment(id: try PaymentID("P1"), time: try Timestamp(iso8601: time), card: card, institution: try Institution(institution),
                business: business, amount: Amount(fen: amount), accountClass: accountClass)
    }

    static func ruleSet() -> RuleSet {
        let f = Filter(businesses: debit)
        return RuleSet(limits: [
            Limit(id: "inst.single", tier: .institution, window: .single, grouping: .card, filter: f, refundRestores: false,
                  caps: Caps(amountFenMax: 1000), institutionCaps: [try! Institution("Z2"): Caps(amountFenMax: 3000)]),
            Limit(id: "bank.daily", tier: .bank, window: .day, grouping: .card, filter: f, refundRestores: false,
                  caps: Caps(amountFenMax: 5000, countMax: 3)),
            Limit(id: "reg.daily", tier: .regulatory, window: .day, grouping: .card,
                  filter: Filter(businesses: debit, accountClasses: [.classII]), refundRestores: false, caps: Caps(amountFenMax: 2000)),
        ], cardTier: CardTierPolicy(filter: f, refundRestores: false))
    }

    @Test func limitsAreOrderedByTierThenFileOrder() {
        #expect(Self.ruleSet().limits.map(\.id) == ["reg.daily", "bank.daily", "inst.single"])
    }

    @Test func planAppliesFiltersOverridesAndSharesCounters() throws {
        let rules = Self.ruleSet()
        let plan = rules.plan(for: try Self.payment(500, institution: "Z2"), cardLimits: nil, cardInstitutionLimits: nil)
        #expect(plan.checks.map(\.limitID) == ["bank.daily", "inst.single"])
        #expect(plan.checks[1].caps.amountFenMax == 3000)
        // bank.daily and the card tier's card/day counter are the same definition: one cell.
        #expect(plan.updates.count == 4)
        #expect(Set(plan.updates.map(\.key)).count == plan.updates.count)
        let payout = rules.plan(for: try Self.payment(500, business: .payout), cardLimits: nil, cardInstitutionLimits: nil)
        #expect(payout.checks.isEmpty && payout.updates.isEmpty)
        let classII = rules.plan(for: try Self.payment(500, accountClass: .classII), cardLimits: nil, cardInstitutionLimits: nil)
        #expect(classII.checks.first?.limitID == "reg.daily")
    }

    @Test func cardLimitsBecomeCardTierChecks() throws {
        let rules = Self.ruleSet()
        let plan = rules.plan(for: try Self.payment(500), cardLimits: CardLimits(singleAmountFenMax: 400, dailyCountMax: 2),
                              cardInstitutionLimits: CardLimits(monthlyAmountFenMax: 900))
        #expect(plan.checks.filter { $0.tier == .card }.map(\.limitID) == ["card.single", "card.daily", "card@Z1.monthly"])
        let d = decide(amountFen: 500, checks: plan.checks, usage: plan.checks.map { _ in .zero }, ruleSetVersion: 1)
        #expect(d.code == .exceeds(.card, .single, .amount))
        #expect(d.failed?.limitID == "card.single")
    }

    @Test func firstFailureInOrderDecides() throws {
        let rules = Self.ruleSet()
        let plan = rules.plan(for: try Self.payment(1500, accountClass: .classII), cardLimits: nil, cardInstitutionLimits: nil)
        // reg.daily (2000 with 600 used) fails before inst.single (1000) would.
        let usage = plan.checks.map { $0.limitID == "reg.daily" ? CounterValue(amountFen: 600, count: 1) : CounterValue(amountFen: 600, count: 1) }
        let d = decide(amountFen: 1500, checks: plan.checks, usage: usage, ruleSetVersion: 4)
        #expect(d.outcome == .decline)
        #expect(d.code.name == "exceedsRegulatoryDailyAmount")
        #expect(d.failed == FailedLimit(limitID: "reg.daily", tier: .regulatory, window: .day, measure: .amount, max: 2000, used: 600))
        #expect(d.ruleSetVersion == 4)
        // Nothing reserved on a decline: headroom is before the payment.
        #expect(d.headroom[.regulatory] == TierHeadroom(amountFen: 1400, count: nil))
        #expect(d.headroom[.bank] == TierHeadroom(amountFen: 4400, count: 2))
    }

    @Test func approvalReportsHeadroomAfterTheReservation() throws {
        let rules = Self.ruleSet()
        let plan = rules.plan(for: try Self.payment(700), cardLimits: nil, cardInstitutionLimits: nil)
        let d = decide(amountFen: 700, checks: plan.checks, usage: [CounterValue(amountFen: 4000, count: 1), .zero], ruleSetVersion: 1)
        #expect(d.outcome == .approve && d.code == .approved && d.failed == nil)
        #expect(d.headroom[.bank] == TierHeadroom(amountFen: 300, count: 1))
        #expect(d.headroom[.institution] == TierHeadroom(amountFen: 1000, count: nil))
        #expect(d.headroom[.regulatory] == nil && d.headroom[.card] == nil)
    }

    @Test func tierHeadroomsReadAndWriteLikeADictionary() {
        var model: [Tier: TierHeadroom] = [:]
        var headrooms = TierHeadrooms()
        #expect(headrooms.isEmpty)
        for (i, tier) in (Tier.allCases + Tier.allCases.reversed()).enumerated() {
            let value = i % 3 == 2 ? nil : TierHeadroom(amountFen: Int64(i), count: i % 2 == 0 ? nil : Int64(i))
            model[tier] = value
            headrooms[tier] = value
            for t in Tier.allCases { #expect(headrooms[t] == model[t]) }
            #expect(headrooms.isEmpty == model.isEmpty)
        }
        let literal: TierHeadrooms = [.bank: TierHeadroom(amountFen: 5), .card: TierHeadroom(count: 1)]
        #expect(literal.bank == TierHeadroom(amountFen: 5) && literal.card == TierHeadroom(count: 1))
        #expect(literal.regulatory == nil && literal.institution == nil)
    }

    @Test func countCapsAndExactBoundaries() throws {
        let rules = Self.ruleSet()
        let plan = rules.plan(for: try Self.payment(1000), cardLimits: nil, cardInstitutionLimits: nil)
        let atCap = decide(amountFen: 1000, checks: plan.checks, usage: [CounterValue(amountFen: 4000, count: 2), .zero], ruleSetVersion: 1)
        #expect(atCap.isApproved)  // 4000 + 1000 == 5000 is allowed, the 3rd payment is allowed
        let overCount = decide(amountFen: 1, checks: plan.checks, usage: [CounterValue(amountFen: 0, count: 3), .zero], ruleSetVersion: 1)
        #expect(overCount.code == .exceeds(.bank, .day, .count))
        let overByOneFen = decide(amountFen: 1001, checks: plan.checks, usage: [CounterValue(amountFen: 0, count: 0), .zero], ruleSetVersion: 1)
        #expect(overByOneFen.code == .exceeds(.institution, .single, .amount))
        let overflow = decide(amountFen: 1, checks: plan.checks, usage: [CounterValue(amountFen: .max, count: 0), .zero], ruleSetVersion: 1)
        #expect(overflow.code == .exceeds(.bank, .day, .amount))
    }
}
