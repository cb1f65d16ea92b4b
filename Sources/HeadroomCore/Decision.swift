/// A stable reason code: a number and a name from an append-only table (``table``). A number,
/// once published to operators, keeps its name forever; a new kind of check adds rows, never
/// changes one. A test pins every row.
///
/// The caps on counters (the limits) took `tier * 100 + window * 10 + measure` (tier 1
/// regulatory .. 4 card; window 1 single, 2 rolling, 3 day, 4 month, 5 year; measure 1 amount,
/// 2 count): that is how those rows were numbered, not a rule for new ones.
public struct ReasonCode: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16

    /// `nil` for a number the table does not hold.
    public init?(rawValue: UInt16) {
        guard Self.names[rawValue] != nil else { return nil }
        self.rawValue = rawValue
    }

    /// Every code: append only.
    public static let table: [(number: UInt16, name: String)] = [
        (0, "approved"),
        (111, "exceedsRegulatorySingleAmount"), (121, "exceedsRegulatoryRollingAmount"), (122, "exceedsRegulatoryRollingCount"),
        (131, "exceedsRegulatoryDailyAmount"), (132, "exceedsRegulatoryDailyCount"), (141, "exceedsRegulatoryMonthlyAmount"),
        (142, "exceedsRegulatoryMonthlyCount"), (151, "exceedsRegulatoryYearlyAmount"), (152, "exceedsRegulatoryYearlyCount"),
        (211, "exceedsBankSingleAmount"), (221, "exceedsBankRollingAmount"), (222, "exceedsBankRollingCount"),
        (231, "exceedsBankDailyAmount"), (232, "exceedsBankDailyCount"), (241, "exceedsBankMonthlyAmount"),
        (242, "exceedsBankMonthlyCount"), (251, "exceedsBankYearlyAmount"), (252, "exceedsBankYearlyCount"),
        (311, "exceedsInstitutionSingleAmount"), (321, "exceedsInstitutionRollingAmount"), (322, "exceedsInstitutionRollingCount"),
        (331, "exceedsInstitutionDailyAmount"), (332, "exceedsInstitutionDailyCount"), (341, "exceedsInstitutionMonthlyAmount"),
        (342, "exceedsInstitutionMonthlyCount"), (351, "exceedsInstitutionYearlyAmount"), (352, "exceedsInstitutionYearlyCount"),
        (411, "exceedsCardSingleAmount"), (421, "exceedsCardRollingAmount"), (422, "exceedsCardRollingCount"),
        (431, "exceedsCardDailyAmount"), (432, "exceedsCardDailyCount"), (441, "exceedsCardMonthlyAmount"),
        (442, "exceedsCardMonthlyCount"), (451, "exceedsCardYearlyAmount"), (452, "exceedsCardYearlyCount"),
        (501, "cardOnBlockList"), (502, "agreementOnBlockList"), (503, "merchantOnBlockList"), (504, "institutionOnBlockList"),
        (511, "agreementEnded"), (521, "velocityAmount"), (522, "velocityCount"),
        (531, "newAgreementAmount"), (532, "newAgreementCount"),
    ]

    private static let names: [UInt16: String] = Dictionary(uniqueKeysWithValues: table.map { ($0.number, $0.name) })

    /// The code of an approval.
    public static let approved = ReasonCode(rawValue: 0)!
    /// An agreement or entrusted payment named an agreement on record as ended (risk rule).
    public static let agreementEnded = ReasonCode(rawValue: 511)!
    /// A velocity rule's amount cap.
    public static let velocityAmount = ReasonCode(rawValue: 521)!
    /// A velocity rule's count cap.
    public static let velocityCount = ReasonCode(rawValue: 522)!
    /// A new agreement's cool-off amount cap.
    public static let newAgreementAmount = ReasonCode(rawValue: 531)!
    /// A new agreement's cool-off count cap.
    public static let newAgreementCount = ReasonCode(rawValue: 532)!

    /// The code of a cap on a counter that declined a payment.
    public static func exceeds(_ tier: Tier, _ window: Window, _ measure: Measure) -> ReasonCode {
        ReasonCode(rawValue: UInt16(tier.rawValue) * 100 + window.codeNumber * 10 + UInt16(measure.rawValue))!
    }

    /// `approved`, or a sentence-like name: `exceedsBankDailyAmount`, `exceedsCardSingleAmount`.
    public var name: String { Self.names[rawValue]! }

    public var description: String { name }
}

/// The headroom left on one tier: the largest amount and the number of payments that its
/// tightest limits still allow, for a next payment like this one. `nil` where no limit of the
/// tier caps that measure.
public struct TierHeadroom: Hashable, Sendable {
    /// The amount left, in fen; `nil` when no limit of the tier counts amounts.
    public var amountFen: Int64?
    /// The payments left; `nil` when no limit of the tier counts payments.
    public var count: Int64?

    /// A headroom of the amount and count given.
    public init(amountFen: Int64? = nil, count: Int64? = nil) {
        self.amountFen = amountFen
        self.count = count
    }

    mutating func tighten(amountFen a: Int64?, count c: Int64?) {
        if let a { amountFen = min(amountFen ?? a, a) }
        if let c { count = min(count ?? c, c) }
    }
}

/// The headroom of every tier, one slot each: a fixed-size value, so that a decision allocates
/// nothing (a dictionary of four tiers cost one allocation per payment). Reads like a
/// dictionary: `headroom[.bank]` is `nil` where no limit of that tier applied.
public struct TierHeadrooms: Hashable, Sendable, ExpressibleByDictionaryLiteral {
    /// The regulatory tier's headroom; `nil` when no limit of it applied.
    public var regulatory: TierHeadroom?
    /// The bank tier's headroom; `nil` when no limit of it applied.
    public var bank: TierHeadroom?
    /// The institution tier's headroom; `nil` when no limit of it applied.
    public var institution: TierHeadroom?
    /// The card tier's headroom; `nil` when no limit of it applied.
    public var card: TierHeadroom?

    /// No tier's headroom.
    public init() {}

    public init(dictionaryLiteral elements: (Tier, TierHeadroom)...) {
        for (tier, headroom) in elements { self[tier] = headroom }
    }

    /// The headroom of `tier`.
    public subscript(tier: Tier) -> TierHeadroom? {
        get {
            switch tier {
            case .regulatory: regulatory
            case .bank: bank
            case .institution: institution
            case .card: card
            }
        }
        set {
            switch tier {
            case .regulatory: regulatory = newValue
            case .bank: bank = newValue
            case .institution: institution = newValue
            case .card: card = newValue
            }
        }
    }

    /// No tier had a limit that applied.
    public var isEmpty: Bool { regulatory == nil && bank == nil && institution == nil && card == nil }
}

/// The limit that declined a payment, with the figures that decided it.
public struct FailedLimit: Hashable, Sendable {
    /// The id of the limit that failed.
    public let limitID: String
    /// Its tier.
    public let tier: Tier
    /// Its window.
    public let window: Window
    /// What it caps that the payment would pass: the amount or the count.
    public let measure: Measure
    /// The cap (fen for amount, payments for count).
    public let max: Int64
    /// What the window held before this payment (0 for a single-payment cap).
    public let used: Int64

    /// A failed limit from its fields.
    public init(limitID: String, tier: Tier, window: Window, measure: Measure, max: Int64, used: Int64) {
        self.limitID = limitID
        self.tier = tier
        self.window = window
        self.measure = measure
        self.max = max
        self.used = used
    }
}

/// What decided a payment that was not simply approved, one case per kind of check: a cap on a
/// counter (the limits) or a risk rule (a list, an agreement's state, a velocity or new-agreement
/// cap), each with its own figures, its own reason codes and its own tag in the stored decision
/// (decision 0014).
public enum Finding: Hashable, Sendable {
    /// A cap on a counter held no room for the payment.
    case cap(FailedLimit)
    /// A risk rule matched (decision 0017).
    case risk(RiskFinding)

    /// The id of the rule (a limit's or a risk rule's) that decided.
    public var ruleID: String {
        switch self {
        case .cap(let limit): limit.limitID
        case .risk(let finding): finding.ruleID
        }
    }

    /// The tier of the rule, where it has one (risk rules have none).
    public var tier: Tier? {
        switch self {
        case .cap(let limit): limit.tier
        case .risk: nil
        }
    }
}

/// The engine's answer to an authorization: a business outcome, not an error.
public struct Decision: Hashable, Sendable {
    /// The numbers are stored: never renumbered.
    public enum Outcome: UInt8, Sendable, NamedCase {
        /// Approved: the amount is reserved on every counter.
        case approve = 1
        /// Declined: nothing is counted.
        case decline = 2
        /// Step-up: the front processor asks the customer for a stronger verification. No
        /// check answers it yet (the risk rules will); a decline always wins over it.
        case challenge = 3

        /// The name answers write: `approve`, `decline`, `challenge`.
        public var name: String {
            switch self {
            case .approve: "approve"
            case .decline: "decline"
            case .challenge: "challenge"
            }
        }
    }

    /// Approve, decline or challenge.
    public var outcome: Outcome
    /// Why: ``ReasonCode/approved``, or the code of the limit that decided.
    public var code: ReasonCode
    /// What decided the payment; `nil` on approval.
    public var decidedBy: Finding?
    /// The headroom left on each tier after this decision, indexed by ``Tier``.
    public var headroom: TierHeadrooms
    /// The version of the rule set that made the decision.
    public var ruleSetVersion: UInt32

    /// A decision from its fields.
    public init(outcome: Outcome, code: ReasonCode, decidedBy: Finding?, headroom: TierHeadrooms, ruleSetVersion: UInt32) {
        self.outcome = outcome
        self.code = code
        self.decidedBy = decidedBy
        self.headroom = headroom
        self.ruleSetVersion = ruleSetVersion
    }

    /// The payment was approved.
    public var isApproved: Bool { outcome == .approve }

    /// The payment holds a reservation: approved, or challenged (held while the customer verifies).
    public var reserves: Bool { outcome != .decline }

    /// The cap that declined the payment, when a cap decided it.
    public var failed: FailedLimit? {
        guard case .cap(let limit) = decidedBy else { return nil }
        return limit
    }
}

/// The pure decision: no I/O, no clock. `usage[i]` is what `checks[i]`'s window held before
/// the payment (ignored for single-payment caps). Limits only: see
/// ``decide(amountFen:plan:usage:riskUsage:rules:ruleSetVersion:)`` for a plan with risk rules.
public func decide(amountFen: Int64, checks: [Check], usage: [CounterValue], ruleSetVersion: UInt32) -> Decision {
    var plan = Plan()
    plan.checks = checks
    return decide(amountFen: amountFen, plan: plan, usage: usage, riskUsage: [], rules: nil, ruleSetVersion: ruleSetVersion)
}

/// The pure decision of a plan (docs/rules.md, "Which rule decides"): a decline always wins
/// over a challenge. Declines are looked for in this order: risk rules that matched outright
/// (a list, an ended agreement; files' order), then the limits' caps (tier order), then the
/// velocity and new-agreement caps (files' order); the first found decides. Without a decline,
/// the first challenge in the same order decides; without either, the payment is approved.
/// A challenged payment holds its reservation, so the headroom it leaves is counted as an
/// approval's. `usage[i]` is what `plan.checks[i]`'s window held, `riskUsage[i]` what
/// `plan.riskChecks[i]`'s held; `rules` is the rule set that made the plan (needed only when
/// it has risk rules).
public func decide(amountFen: Int64, plan: Plan, usage: [CounterValue], riskUsage: [CounterValue], rules: RuleSet?,
                   ruleSetVersion: UInt32) -> Decision {
    precondition(plan.checks.count == usage.count && plan.riskChecks.count == riskUsage.count)
    precondition(rules != nil || (plan.riskHits.isEmpty && plan.riskChecks.isEmpty))
    var decline: (Finding, ReasonCode)?
    var challenge: (Finding, ReasonCode)?
    func found(_ rule: RiskRule, _ finding: RiskFinding) {
        let pair = (Finding.risk(finding), rule.code(finding.measure))
        if rule.action == .decline {
            if decline == nil { decline = pair }
        } else if challenge == nil {
            challenge = pair
        }
    }
    for i in plan.riskHits where decline == nil {
        let rule = rules!.risk[i]
        var list: String?
        if case .list(let name, _) = rule.kind { list = name }
        found(rule, RiskFinding(ruleID: rule.id, action: rule.action, list: list))
    }
    if decline == nil {
        for (check, used) in zip(plan.checks, usage) {
            if let failed = firstFailure(check, used: check.counter == nil ? .zero : used, amountFen: amountFen) {
                decline = (.cap(failed), .exceeds(failed.tier, failed.window, failed.measure))
                break
            }
        }
    }
    if decline == nil {
        for (check, used) in zip(plan.riskChecks, riskUsage) where decline == nil {
            let rule = rules!.risk[check.rule]
            if let (measure, max, before) = firstFailure(rule.caps, used: used, amountFen: amountFen) {
                found(rule, RiskFinding(ruleID: rule.id, action: rule.action, window: rule.window, measure: measure,
                                        max: max, used: before))
            }
        }
    }
    let reserves = decline == nil
    var headroom = TierHeadrooms()
    for (check, used) in zip(plan.checks, usage) {
        let before = check.counter == nil ? CounterValue.zero : used
        let after = reserves ? (before.adding(amountFen: amountFen, count: 1) ?? before) : before
        var tier = headroom[check.tier] ?? TierHeadroom()
        tier.tighten(
            amountFen: check.caps.amountFenMax.map { Swift.max(0, check.counter == nil ? $0 : $0 - after.amountFen) },
            count: check.caps.countMax.map { Swift.max(0, $0 - after.count) }
        )
        headroom[check.tier] = tier
    }
    if let (finding, code) = decline {
        return Decision(outcome: .decline, code: code, decidedBy: finding, headroom: headroom, ruleSetVersion: ruleSetVersion)
    }
    if let (finding, code) = challenge {
        return Decision(outcome: .challenge, code: code, decidedBy: finding, headroom: headroom, ruleSetVersion: ruleSetVersion)
    }
    return Decision(outcome: .approve, code: .approved, decidedBy: nil, headroom: headroom, ruleSetVersion: ruleSetVersion)
}

/// The first of `caps` that `used` leaves no room under for `amountFen` more (amount first).
private func firstFailure(_ caps: Caps, used: CounterValue, amountFen: Int64) -> (Measure, Int64, Int64)? {
    if let max = caps.amountFenMax {
        let (total, overflow) = used.amountFen.addingReportingOverflow(amountFen)
        if overflow || total > max { return (.amount, max, used.amountFen) }
    }
    if let max = caps.countMax, used.count >= max { return (.count, max, used.count) }
    return nil
}

private func firstFailure(_ check: Check, used: CounterValue, amountFen: Int64) -> FailedLimit? {
    if let max = check.caps.amountFenMax {
        let (total, overflow) = used.amountFen.addingReportingOverflow(amountFen)
        if overflow || total > max {
            return FailedLimit(limitID: check.limitID, tier: check.tier, window: check.window,
                               measure: .amount, max: max, used: used.amountFen)
        }
    }
    if let max = check.caps.countMax, used.count >= max {
        return FailedLimit(limitID: check.limitID, tier: check.tier, window: check.window,
                           measure: .count, max: max, used: used.count)
    }
    return nil
}
