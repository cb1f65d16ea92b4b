/// A validated, immutable set of limits. Build it with `HeadroomRules` from rule files.
public struct RuleSet: Sendable, Equatable {
    /// Every limit, in evaluation order: by tier, then in the order the rule files give them.
    public let limits: [Limit]
    /// What a customer's own card limits count.
    public let cardTier: CardTierPolicy

    public init(limits: [Limit], cardTier: CardTierPolicy) {
        // A stable sort: within a tier, the rule files' order stays.
        self.limits = limits.enumerated()
            .sorted { ($0.element.tier, $0.offset) < ($1.element.tier, $1.offset) }
            .map(\.element)
        self.cardTier = cardTier
    }

    public func limit(id: String) -> Limit? { limits.first { $0.id == id } }

    /// The counter definitions behind the card tier: per card and per card and institution,
    /// daily and monthly. Counted for every payment the card tier applies to, so that a limit
    /// a customer sets at noon already knows the morning's payments.
    public var cardTierCounters: [CounterDefinition] {
        [Grouping.card, .cardInstitution].flatMap { grouping in
            [Window.day, .month].map {
                CounterDefinition(grouping: grouping, window: $0, filter: cardTier.filter,
                                  refundRestores: cardTier.refundRestores)
            }
        }
    }

    /// The counter definition that a card-tier limit of `window` reads.
    public func cardTierCounter(_ window: Window, perInstitution: Bool) -> CounterDefinition? {
        window == .single ? nil
            : CounterDefinition(grouping: perInstitution ? .cardInstitution : .card, window: window,
                                filter: cardTier.filter, refundRestores: cardTier.refundRestores)
    }
}

/// One limit applied to one payment: the caps that bind it and the counter cell they read.
public struct Check: Sendable, Equatable {
    public let limitID: String
    public let tier: Tier
    public let window: Window
    public let caps: Caps
    /// The cell of the payment's window (for a rolling window, its newest bucket); `nil` for a
    /// single-payment cap.
    public let counter: CounterKey?

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
    public let key: CounterKey
    public let refundRestores: Bool

    public init(key: CounterKey, refundRestores: Bool) {
        self.key = key
        self.refundRestores = refundRestores
    }
}

/// Everything the engine must read and write for one payment.
public struct Plan: Sendable {
    /// The limits to check, in evaluation order.
    public let checks: [Check]
    /// Every distinct counter cell the payment adds to when approved.
    public let updates: [CounterUpdate]
}

extension RuleSet {
    /// Plans the checks and counter updates for `payment`, given the customer's own limits for
    /// the card (all institutions) and for the card at the payment's institution.
    public func plan(for payment: Payment, cardLimits: CardLimits?, cardInstitutionLimits: CardLimits?) -> Plan {
        var checks: [Check] = []
        var updates: [CounterUpdate] = []
        var seen: Set<CounterKey> = []
        func count(_ definition: CounterDefinition) -> CounterKey {
            let key = definition.key(for: payment)
            if seen.insert(key).inserted {
                updates.append(CounterUpdate(key: key, refundRestores: definition.refundRestores))
            }
            return key
        }
        for limit in limits where limit.filter.matches(payment) {
            let key = limit.counter.map(count)
            let caps = limit.caps(for: payment.institution)
            if !caps.isEmpty {
                checks.append(Check(limitID: limit.id, tier: limit.tier, window: limit.window, caps: caps, counter: key))
            }
        }
        guard cardTier.filter.matches(payment) else { return Plan(checks: checks, updates: updates) }
        for definition in cardTierCounters { _ = count(definition) }
        let scopes: [(CardLimits?, Bool, String)] = [
            (cardLimits, false, "card"),
            (cardInstitutionLimits, true, "card@\(payment.institution.code)"),
        ]
        for case let (limits?, perInstitution, prefix) in scopes {
            for (window, caps) in CardTierChecks.caps(limits) {
                let key = cardTierCounter(window, perInstitution: perInstitution).map(count)
                checks.append(Check(limitID: "\(prefix).\(CardTierChecks.suffix(window))", tier: .card,
                                    window: window, caps: caps, counter: key))
            }
        }
        return Plan(checks: checks, updates: updates)
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

    public static func suffix(_ window: Window) -> String {
        switch window {
        case .single: "single"
        case .day: "daily"
        case .month: "monthly"
        default: "\(window)"
        }
    }
}
