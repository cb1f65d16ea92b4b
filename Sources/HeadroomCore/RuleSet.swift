/// A validated, immutable set of limits. Build it with `HeadroomRules` from rule files.
///
/// It is compiled when built: each business type has the list of limits that can apply to it,
/// filters are bit masks, and counter identities are computed once, so that planning a payment
/// neither scans every rule nor hashes text.
public struct RuleSet: Sendable, Equatable {
    /// Every limit, in evaluation order: by tier, then in the order the rule files give them.
    public let limits: [Limit]
    /// What a customer's own card limits count.
    public let cardTier: CardTierPolicy
    /// How long an authorized payment holds its reservation; `nil`: until confirmed or released.
    public let holds: HoldTimes?
    /// The counter definitions behind the card tier: per card and per card and institution,
    /// daily and monthly. Counted for every payment the card tier applies to, so that a limit
    /// a customer sets at noon already knows the morning's payments.
    public let cardTierCounters: [CounterDefinition]
    /// The risk rules, in the rule files' order (docs/rules.md, "Risk rules").
    public let risk: [RiskRule]
    /// The indices in ``risk`` of the list rules: bit `i` of ``RiskFacts/listHits`` is the
    /// `i`-th of these.
    public let listRules: [Int]
    /// Whether a payment's agreement must be looked up (a rule reads agreements).
    public let readsAgreements: Bool
    /// At most this many list rules (one bit each in ``RiskFacts/listHits``).
    public static let listRulesMax = 64

    /// For each business type (by raw value), the indices in `limits` whose filter names it.
    private let limitsByBusiness: [[Int]]
    /// `limits[i].filter`, compiled.
    private let filters: [CompiledFilter]
    /// `limits[i].counter` and `cardTierCounters`, as plain values: planning copies no
    /// reference-counted field.
    private let counters: [CompiledCounter?]
    private let cardTierCompiled: [CompiledCounter]
    private let cardTierFilter: CompiledFilter
    /// The most checks and counter updates one payment can have: the plan's arrays are sized once.
    private let checksMax: Int
    private let updatesMax: Int
    private let riskByBusiness: [[Int]]
    private let riskFilters: [CompiledFilter]
    private let riskCounters: [CompiledCounter?]
    private let newAgreementIDs: [UInt64]
    /// For each risk rule, its bit in ``RiskFacts/listHits`` (list rules only; -1 for others).
    private let listBits: [Int]

    /// A rule set of `limits`, the card tier's policy, the hold times (`nil`: reservations kept
    /// until settled) and the risk rules (at most ``listRulesMax`` of them list rules).
    public init(limits: [Limit], cardTier: CardTierPolicy, holds: HoldTimes? = nil, risk: [RiskRule] = []) {
        // A stable sort: within a tier, the rule files' order stays.
        let limits = limits.enumerated()
            .sorted { ($0.element.tier, $0.offset) < ($1.element.tier, $1.offset) }
            .map(\.element)
        self.limits = limits
        self.cardTier = cardTier
        self.holds = holds
        self.cardTierCounters = [Grouping.card, .cardInstitution].flatMap { grouping in
            [Window.day, .month].map {
                CounterDefinition(grouping: grouping, window: $0, filter: cardTier.filter,
                                  refundRestores: cardTier.refundRestores)
            }
        }
        limitsByBusiness = Business.allCases.map { business in
            limits.indices.filter { limits[$0].filter.businesses.contains(business) }
        }
        filters = limits.map(\.filter.compiled)
        counters = limits.map { $0.counter.map(CompiledCounter.init) }
        cardTierCompiled = cardTierCounters.map(CompiledCounter.init)
        cardTierFilter = cardTier.filter.compiled
        let cardChecksMax = 2 * 3  // single, daily and monthly; for the card and for the card at the institution
        self.risk = risk
        listRules = risk.indices.filter { if case .list = risk[$0].kind { true } else { false } }
        precondition(listRules.count <= Self.listRulesMax, "at most 64 list rules")
        readsAgreements = risk.contains {
            switch $0.kind {
            case .endedAgreement, .newAgreement: true
            case .list, .velocity: false
            }
        }
        riskByBusiness = Business.allCases.map { business in risk.indices.filter { risk[$0].filter.businesses.contains(business) } }
        riskFilters = risk.map(\.filter.compiled)
        riskCounters = risk.map { $0.counter.map(CompiledCounter.init) }
        var bits = [Int](repeating: -1, count: risk.count)
        for (bit, index) in listRules.enumerated() { bits[index] = bit }
        listBits = bits
        newAgreementIDs = risk.map { rule in
            guard case .newAgreement(let seconds) = rule.kind else { return 0 }
            var h = FNV1a()
            h.add("counter.v1|new-agreement|seconds=\(seconds)|\(rule.filter.canonical)")
            return h.value
        }
        checksMax = (limitsByBusiness.map(\.count).max() ?? 0) + cardChecksMax
        updatesMax = checksMax + cardTierCounters.count + risk.count
    }

    public static func == (a: RuleSet, b: RuleSet) -> Bool {
        a.limits == b.limits && a.cardTier == b.cardTier && a.holds == b.holds && a.risk == b.risk
    }

    /// Whether the `bit`-th list rule (``listRules``) judges `payment`: its filter takes it. The
    /// engine reads the list only then.
    public func listRuleApplies(_ bit: Int, to payment: Payment) -> Bool {
        riskFilters[listRules[bit]].matches(payment)
    }

    /// The risk rule with id `id`, if any.
    public func riskRule(id: String) -> RiskRule? { risk.first { $0.id == id } }

    /// The limit with id `id`, if any.
    public func limit(id: String) -> Limit? { limits.first { $0.id == id } }

    /// The counter definition that a card-tier limit of `window` reads.
    public func cardTierCounter(_ window: Window, perInstitution: Bool) -> CounterDefinition? {
        Self.cardTierIndex(window, perInstitution: perInstitution).map { cardTierCounters[$0] }
    }

    /// Where the counter a card-tier limit of `window` reads stands in `cardTierCounters` (and
    /// `cardTierCompiled`): card then card and institution, each daily then monthly.
    private static func cardTierIndex(_ window: Window, perInstitution: Bool) -> Int? {
        switch window {
        case .day: perInstitution ? 2 : 0
        case .month: perInstitution ? 3 : 1
        default: nil
        }
    }
}

/// A ``CounterDefinition`` reduced to what keys a payment's cell: plain values only.
struct CompiledCounter: Sendable {
    let id: UInt64
    let kind: CounterKey.Kind
    let usesCard: Bool
    let usesInstitution: Bool
    let refundRestores: Bool

    init(_ d: CounterDefinition) {
        id = d.id
        kind = d.window.keyKind!
        usesCard = d.grouping.usesCard
        usesInstitution = d.grouping.usesInstitution
        refundRestores = d.refundRestores
        grouping = d.grouping
    }

    /// The key of the bucket (or natural period) holding `payment` (``CounterDefinition/key(for:)``).
    let grouping: Grouping

    @inline(__always)
    func key(for payment: Payment) -> CounterKey? {
        switch grouping {
        case .agreement:
            guard let agreement = payment.agreementKey else { return nil }
            return CounterKey(kind: kind, definition: id, card: agreement, institution: .ungrouped, window: kind.window(at: payment.time))
        case .merchant:
            guard let merchant = payment.merchantKey else { return nil }
            return CounterKey(kind: kind, definition: id, card: merchant, institution: .ungrouped, window: kind.window(at: payment.time))
        case .cardMerchant:
            guard let merchant = payment.merchantKey else { return nil }
            return CounterKey(kind: kind, definition: id, card: payment.card, institution: Institution(high: merchant.high, low: merchant.low),
                              window: kind.window(at: payment.time))
        case .bank, .institution, .card, .cardInstitution:
            return CounterKey(kind: kind, definition: id, card: usesCard ? payment.card : .ungrouped,
                              institution: usesInstitution ? payment.institution : .ungrouped, window: kind.window(at: payment.time))
        }
    }
}

/// One limit applied to one payment: the caps that bind it and the counter cell they read.
public struct Check: Sendable, Equatable {
    /// The limit's id.
    public let limitID: String
    /// The limit's tier.
    public let tier: Tier
    /// The limit's window.
    public let window: Window
    /// The caps that bind the payment (an institution's own caps where it has them).
    public let caps: Caps
    /// The cell of the payment's window (for a rolling window, its newest bucket); `nil` for a
    /// single-payment cap.
    public let counter: CounterKey?

    /// A check from its fields.
    public init(limitID: String, tier: Tier, window: Window, caps: Caps, counter: CounterKey?) {
        self.limitID = limitID
        self.tier = tier
        self.window = window
        self.caps = caps
        self.counter = counter
    }
}

/// A counter cell that an approved payment adds to, and whether a refund gives back to it.
public struct CounterUpdate: Hashable, Sendable {
    /// The cell.
    public let key: CounterKey
    /// Whether a refund gives back to it.
    public let refundRestores: Bool
    /// A cell of a velocity rule counting attempts: added whatever the answer, never given back.
    public let countsAttempts: Bool

    /// An update from its fields.
    public init(key: CounterKey, refundRestores: Bool, countsAttempts: Bool = false) {
        self.key = key
        self.refundRestores = refundRestores && !countsAttempts
        self.countsAttempts = countsAttempts
    }
}

/// Everything the engine must read and write for one payment.
///
/// A plan can be filled again and again (``RuleSet/plan(for:cardLimits:cardInstitutionLimits:risk:into:)``):
/// its arrays keep their capacity, so that the engine's writer plans a payment without
/// allocating.
public struct Plan: Sendable {
    /// The limits to check, in evaluation order.
    public internal(set) var checks: [Check]
    /// Every distinct counter cell the payment adds to when approved.
    public internal(set) var updates: [CounterUpdate]
    /// Risk rules that matched outright (a list, an ended agreement), by index in
    /// ``RuleSet/risk``, in order.
    public internal(set) var riskHits: [Int]
    /// The velocity and new-agreement checks, in the rule files' order.
    public internal(set) var riskChecks: [RiskCheck]
    /// The cells that count attempts: added to whatever the answer, never given back.
    public internal(set) var attempts: [CounterKey]

    /// An empty plan, to be filled.
    public init() {
        checks = []
        updates = []
        riskHits = []
        riskChecks = []
        attempts = []
    }
}

extension RuleSet {
    /// Plans the checks and counter updates for `payment`, given the customer's own limits for
    /// the card (all institutions) and for the card at the payment's institution, and what the
    /// engine looked up for the risk rules (the lists the payment is on, its agreement).
    public func plan(for payment: Payment, cardLimits: CardLimits?, cardInstitutionLimits: CardLimits?,
                     risk facts: RiskFacts = .none) -> Plan {
        var plan = Plan()
        self.plan(for: payment, cardLimits: cardLimits, cardInstitutionLimits: cardInstitutionLimits, risk: facts, into: &plan)
        return plan
    }

    /// ``plan(for:cardLimits:cardInstitutionLimits:risk:)`` into `plan`, whose arrays are emptied
    /// and refilled: once they have grown to this rule set's largest plan, planning allocates
    /// nothing (unless the card has limits of its own, whose checks name themselves in text).
    public func plan(for payment: Payment, cardLimits: CardLimits?, cardInstitutionLimits: CardLimits?,
                     risk facts: RiskFacts = .none, into plan: inout Plan) {
        plan.checks.removeAll(keepingCapacity: true)
        plan.updates.removeAll(keepingCapacity: true)
        plan.riskHits.removeAll(keepingCapacity: true)
        plan.riskChecks.removeAll(keepingCapacity: true)
        plan.attempts.removeAll(keepingCapacity: true)
        plan.checks.reserveCapacity(checksMax)
        plan.updates.reserveCapacity(updatesMax)
        defer { if !risk.isEmpty { planRisk(payment, facts, into: &plan) } }
        // A payment has a handful of counters: a linear search beats hashing them.
        func count(_ counter: CompiledCounter) -> CounterKey? {
            guard let key = counter.key(for: payment) else { return nil }
            if !plan.updates.contains(where: { $0.key == key }) {
                plan.updates.append(CounterUpdate(key: key, refundRestores: counter.refundRestores))
            }
            return key
        }
        // Fields are read in place: copying a whole Limit would retain every reference it holds.
        for i in limitsByBusiness[Int(payment.business.rawValue)] where filters[i].matches(payment) {
            let key = counters[i].flatMap(count)
            let caps = limits[i].caps(for: payment.institution)
            if !caps.isEmpty {
                plan.checks.append(Check(limitID: limits[i].id, tier: limits[i].tier, window: limits[i].window, caps: caps, counter: key))
            }
        }
        guard cardTierFilter.matches(payment) else { return }
        for counter in cardTierCompiled { _ = count(counter) }
        func cardChecks(_ limits: CardLimits?, perInstitution: Bool) {
            guard let limits else { return }
            for (window, caps) in CardTierChecks.caps(limits) {
                let key = Self.cardTierIndex(window, perInstitution: perInstitution).flatMap { count(cardTierCompiled[$0]) }
                let id = perInstitution ? "card@\(payment.institution.code).\(CardTierChecks.suffix(window))"
                    : "card.\(CardTierChecks.suffix(window))"
                plan.checks.append(Check(limitID: id, tier: .card, window: window, caps: caps, counter: key))
            }
        }
        cardChecks(cardLimits, perInstitution: false)
        cardChecks(cardInstitutionLimits, perInstitution: true)
    }
}

/// How a customer's card limits become checks.
public enum CardTierChecks {
    /// The windows of card limits with their caps, in evaluation order.
    public static func caps(_ limits: CardLimits) -> [(Window, Caps)] {
        var out: [(Window, Caps)] = []
        if let v = limits.singleAmountFenMax { out.append((.single, Caps(amountFenMax: v))) }
        let daily = Caps(amountFenMax: limits.dailyAmountFenMax, countMax: limits.dailyCountMax)
        if !daily.isEmpty { out.append((.day, daily)) }
        if let v = limits.monthlyAmountFenMax { out.append((.month, Caps(amountFenMax: v))) }
        return out
    }

    /// The word a card limit's id ends with for `window`: `single`, `daily`, `monthly`.
    public static func suffix(_ window: Window) -> String {
        switch window {
        case .single: "single"
        case .day: "daily"
        case .month: "monthly"
        default: "\(window)"
        }
    }
}

extension RuleSet {
    /// Plans the risk rules, after the limits: list and agreement matches from the facts,
    /// velocity and new-agreement checks (their cells counted as the rule says).
    private func planRisk(_ payment: Payment, _ facts: RiskFacts, into plan: inout Plan) {
        plan.riskHits.reserveCapacity(risk.count)
        plan.riskChecks.reserveCapacity(risk.count)
        plan.attempts.reserveCapacity(risk.count)
        for i in riskByBusiness[Int(payment.business.rawValue)] where riskFilters[i].matches(payment) {
            switch risk[i].kind {
            case .list:
                if facts.listHits & (1 << UInt64(listBits[i])) != 0 { plan.riskHits.append(i) }
            case .endedAgreement:
                if facts.agreement?.endedAt != nil { plan.riskHits.append(i) }
            case .velocity(let counting):
                guard let key = riskCounters[i]!.key(for: payment) else { continue }
                plan.riskChecks.append(RiskCheck(rule: i, counter: key, buckets: risk[i].window!.bucketCount))
                if counting == .attempts {
                    if !plan.attempts.contains(key) { plan.attempts.append(key) }
                } else if !plan.updates.contains(where: { $0.key == key }) {
                    plan.updates.append(CounterUpdate(key: key, refundRestores: risk[i].refundRestores))
                }
            case .newAgreement(let seconds):
                guard let agreement = facts.agreement, let hash = payment.agreementKey, agreement.endedAt == nil,
                      let signedAt = agreement.signedAt, payment.time.unixSeconds >= signedAt.unixSeconds,
                      payment.time.unixSeconds - signedAt.unixSeconds < seconds else { continue }
                let key = CounterKey(kind: .sinceSigning, definition: newAgreementIDs[i], card: hash, institution: .ungrouped,
                                     window: CounterKey.Kind.sinceSigning.window(at: signedAt))
                plan.riskChecks.append(RiskCheck(rule: i, counter: key, buckets: 1))
                if !plan.updates.contains(where: { $0.key == key }) {
                    plan.updates.append(CounterUpdate(key: key, refundRestores: false))
                }
            }
        }
    }
}
