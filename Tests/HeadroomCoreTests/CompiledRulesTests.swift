import HeadroomCore
import HeadroomTesting
import Testing

/// The compiled rule lookup (limits indexed by business type, filters as bit masks) against the
/// plain reading of the rules: scan every limit, match with ``Filter/matches(_:)``.
@Suite struct CompiledRulesTests {
    static let institutions = try! ["Z1", "Z2", "Z3"].map { try Institution($0) }

    static func subset<T: CaseIterable & Hashable>(_ rng: inout SplitMix64, _: T.Type) -> Set<T> {
        Set(T.allCases.filter { _ in rng.next() % 2 == 0 })
    }

    static func optionalSubset<T: CaseIterable & Hashable>(_ rng: inout SplitMix64, _ type: T.Type) -> Set<T>? {
        rng.next() % 3 == 0 ? subset(&rng, type) : nil
    }

    static func filter(_ rng: inout SplitMix64) -> Filter {
        Filter(businesses: subset(&rng, Business.self), accountClasses: optionalSubset(&rng, AccountClass.self),
               channels: optionalSubset(&rng, Channel.self), accountTypes: optionalSubset(&rng, AccountType.self),
               institutions: rng.next() % 4 == 0 ? Set(institutions.filter { _ in rng.next() % 2 == 0 }) : nil)
    }

    static func payment(_ rng: inout SplitMix64) throws -> Payment {
        Payment(id: try PaymentID("P\(rng.next() % 1000)"), time: Timestamp(unixSeconds: 1_795_536_000 + Int64(rng.next() % 200_000)),
                card: CardHash(high: rng.next() % 4, low: 7), institution: institutions[Int(rng.next() % 3)],
                business: Business.allCases.randomElement(using: &rng)!, amount: Amount(fen: Int64(rng.next() % 100_000)),
                accountClass: AccountClass.allCases.randomElement(using: &rng)!,
                channel: rng.next() % 2 == 0 ? nil : Channel.allCases.randomElement(using: &rng),
                accountType: rng.next() % 2 == 0 ? nil : AccountType.allCases.randomElement(using: &rng))
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func compiledFilterMatchesLikeTheFilter(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        var matched = 0
        for _ in 0..<2_000 {
            let f = Self.filter(&rng)
            let p = try Self.payment(&rng)
            #expect(f.compiled.matches(p) == f.matches(p), "\(f) on \(p.business) \(p.accountClass) \(String(describing: p.channel))")
            if f.matches(p) { matched += 1 }
        }
        #expect(matched > 100 && matched < 1_900)  // both answers were exercised
    }

    /// The plan by scanning every limit in order, with the plain filter: what the compiled
    /// lookup must reproduce, check for check and update for update.
    static func scanPlan(_ rules: RuleSet, _ p: Payment) -> (checks: [String], updates: [CounterKey]) {
        var checks: [String] = []
        var updates: [CounterKey] = []
        for limit in rules.limits where limit.filter.matches(p) {
            if let d = limit.counter, let key = d.key(for: p), !updates.contains(key) { updates.append(key) }
            if !limit.caps(for: p.institution).isEmpty { checks.append(limit.id) }
        }
        if rules.cardTier.filter.matches(p) {
            for d in rules.cardTierCounters where !updates.contains(d.key(for: p)!) { updates.append(d.key(for: p)!) }
        }
        return (checks, updates)
    }

    @Test(arguments: [4, 5, 6] as [UInt64])
    func compiledPlanEqualsScanningEveryLimit(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let windows: [Window] = [.single, .day, .month]
        let tiers: [Tier] = [.regulatory, .bank, .institution, .card]
        var reused = Plan()  // one plan filled again for every payment, across rule sets
        for round in 0..<50 {
            let limits = (0..<Int(rng.next() % 12)).map { i in
                Limit(id: "l\(round).\(i)", tier: tiers.randomElement(using: &rng)!, window: windows.randomElement(using: &rng)!,
                      grouping: Grouping.allCases.randomElement(using: &rng)!, filter: Self.filter(&rng),
                      refundRestores: rng.next() % 2 == 0,
                      caps: rng.next() % 5 == 0 ? Caps() : Caps(amountFenMax: Int64(rng.next() % 10_000)),
                      institutionCaps: rng.next() % 3 == 0 ? [Self.institutions[0]: Caps(countMax: 3)] : [:])
            }
            let rules = RuleSet(limits: limits, cardTier: CardTierPolicy(filter: Self.filter(&rng), refundRestores: false))
            for _ in 0..<40 {
                let p = try Self.payment(&rng)
                let plan = rules.plan(for: p, cardLimits: nil, cardInstitutionLimits: nil)
                let expected = Self.scanPlan(rules, p)
                #expect(plan.checks.map(\.limitID) == expected.checks)
                #expect(plan.updates.map(\.key) == expected.updates)
                // Refilling a used plan gives the same plan as a new one, with or without the
                // card's own limits (whose checks and counters come last).
                let own = rng.next() % 3 == 0 ? CardLimits(singleAmountFenMax: 500, dailyAmountFenMax: 2_000, dailyCountMax: 3) : nil
                let fresh = rules.plan(for: p, cardLimits: own, cardInstitutionLimits: own)
                rules.plan(for: p, cardLimits: own, cardInstitutionLimits: own, into: &reused)
                #expect(reused.checks == fresh.checks)
                #expect(reused.updates == fresh.updates)
            }
        }
    }
}
