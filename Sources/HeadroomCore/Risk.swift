/// Which field of a payment a list rule looks up in its list.
public enum ListField: UInt8, Sendable, NamedCase {
    /// The card (a list of keyed card hashes).
    case card = 0
    /// The payment's `agreement_id`.
    case agreement = 1
    /// The payment's `merchant_id`.
    case merchant = 2
    /// The payment institution.
    case institution = 3

    /// The name in rule files and on the command line.
    public var name: String {
        switch self {
        case .card: "card"
        case .agreement: "agreement"
        case .merchant: "merchant"
        case .institution: "institution"
        }
    }
}

/// What a velocity rule counts.
public enum Counting: UInt8, Sendable, NamedCase {
    /// Every authorization judged, whatever its answer: nothing is given back.
    case attempts = 0
    /// The authorizations that hold a reservation (approved or challenged), given back as a
    /// limit's are (release, expiry, reconciliation; refunds when `refund_restores`).
    case approved = 1

    /// The name in rule files.
    public var name: String { self == .attempts ? "attempts" : "approved" }
}

/// What a risk rule answers when it matches.
public enum RiskAction: UInt8, Sendable, NamedCase {
    /// The payment is declined.
    case decline = 2
    /// The payment is challenged (step-up verification); it holds its reservation meanwhile.
    case challenge = 3

    /// The name in rule files.
    public var name: String { self == .decline ? "decline" : "challenge" }

    /// The decision outcome this action gives.
    public var outcome: Decision.Outcome { self == .decline ? .decline : .challenge }
}

/// A risk rule of the rule files' `risk` section (docs/rules.md, "Risk rules").
public struct RiskRule: Hashable, Sendable {
    /// What the rule looks at.
    public enum Kind: Hashable, Sendable {
        /// The payment's field is on the named list.
        case list(name: String, field: ListField)
        /// An agreement or entrusted payment names an agreement on record as ended.
        case endedAgreement
        /// Count and amount over a window, grouped; `caps` bound what came before this payment.
        case velocity(Counting)
        /// An agreement payment whose agreement was signed less than `coolOffSeconds` before it:
        /// `caps` bound what the agreement takes in that time.
        case newAgreement(coolOffSeconds: Int64)
    }

    /// The rule's id, named in every answer it decides.
    public let id: String
    /// What the rule looks at.
    public let kind: Kind
    /// What it answers when it matches.
    public let action: RiskAction
    /// Which payments it judges.
    public let filter: Filter
    /// The velocity window (`nil` for other kinds).
    public let window: Window?
    /// The velocity grouping (`nil` for other kinds).
    public let grouping: Grouping?
    /// The caps of a velocity or new-agreement rule (empty for others).
    public let caps: Caps
    /// Whether a refund gives back on this rule's counter (velocity of approved payments only).
    public let refundRestores: Bool
    /// The file and line the rule was read from.
    public let source: SourceLocation?
    /// The counter the rule reads and feeds (velocity and new-agreement rules).
    public let counter: CounterDefinition?

    /// Bounds of a new-agreement cool-off: it ends within this many days of the signing.
    public static let coolOffSecondsMax: Int64 = 30 * 86_400

    /// A rule. A velocity rule needs `window` (rolling, day or month) and `grouping`.
    public init(id: String, kind: Kind, action: RiskAction, filter: Filter, window: Window? = nil, grouping: Grouping? = nil,
                caps: Caps = Caps(), refundRestores: Bool = false, source: SourceLocation? = nil) {
        self.id = id
        self.kind = kind
        self.action = action
        self.filter = filter
        self.window = window
        self.grouping = grouping
        self.caps = caps
        self.refundRestores = refundRestores
        self.source = source
        switch kind {
        case .velocity(let counting):
            precondition(window != nil && window != .single && grouping != nil, "a velocity rule counts a window, grouped")
            counter = CounterDefinition(grouping: grouping!, window: window!, filter: filter,
                                        refundRestores: refundRestores, counting: counting)
        case .list, .newAgreement, .endedAgreement:
            counter = nil  // a new agreement's cool-off cell is keyed by when it was signed
        }
    }

    /// The reason code of the answers this rule decides.
    public func code(_ measure: Measure?) -> ReasonCode {
        switch kind {
        case .list(_, let field): ReasonCode(rawValue: 501 + UInt16(field.rawValue))!
        case .endedAgreement: .agreementEnded
        case .velocity: measure == .count ? .velocityCount : .velocityAmount
        case .newAgreement: measure == .count ? .newAgreementCount : .newAgreementAmount
        }
    }
}

/// What the engine looked up in the store for a payment's risk rules, before planning it.
public struct RiskFacts: Sendable {
    /// Bit `i` is set when the payment matched the list of the rule set's `i`-th list rule
    /// (``RuleSet/listRules``).
    public var listHits: UInt64
    /// The agreement the payment names, when it is on record.
    public var agreement: AgreementFacts?

    /// No list matched and no agreement on record: what a rule set without risk rules needs.
    public static let none = RiskFacts(listHits: 0, agreement: nil)

    /// Facts as looked up.
    public init(listHits: UInt64, agreement: AgreementFacts?) {
        self.listHits = listHits
        self.agreement = agreement
    }
}

/// An agreement (协议) or entrusted mandate (商业委托) as the store records it.
public struct AgreementFacts: Hashable, Sendable {
    /// Agreement payments (协议支付) or entrusted payments (商业委托支付).
    public enum Kind: UInt8, Sendable, NamedCase {
        /// 协议: the customer signed with the institution for agreement payments.
        case agreement = 1
        /// 商业委托: the customer mandated a merchant to collect.
        case entrusted = 2

        /// The name in replay lines.
        public var name: String { self == .agreement ? "agreement" : "entrusted" }
    }

    /// Who ended an agreement (解约).
    public enum Side: UInt8, Sendable, NamedCase {
        /// The bank (at the customer's request, or for risk).
        case bank = 1
        /// The payment institution.
        case institution = 2

        /// The name in replay lines.
        public var name: String { self == .bank ? "bank" : "institution" }
    }

    /// Its kind; `nil` for an agreement signed before Headroom knew it (recorded only because
    /// it was ended).
    public var kind: Kind?
    /// When it was signed (the sign-agreement line's time); `nil` as for ``kind``.
    public var signedAt: Timestamp?
    /// When it was ended, if it was.
    public var endedAt: Timestamp?
    /// Who ended it, if it was.
    public var endedBy: Side?

    /// Facts as recorded.
    public init(kind: Kind?, signedAt: Timestamp?, endedAt: Timestamp? = nil, endedBy: Side? = nil) {
        self.kind = kind
        self.signedAt = signedAt
        self.endedAt = endedAt
        self.endedBy = endedBy
    }
}

/// A risk rule that decided (or, in an explanation, matched) a payment.
public struct RiskFinding: Hashable, Sendable {
    /// The rule's id.
    public let ruleID: String
    /// What the rule answered.
    public let action: RiskAction
    /// The list the payment was on (list rules).
    public let list: String?
    /// The window of a velocity rule.
    public let window: Window?
    /// The measure a velocity or new-agreement cap failed on.
    public let measure: Measure?
    /// The cap that failed (0 for lists and ended agreements).
    public let max: Int64
    /// What the window or cool-off held before this payment (0 for lists and ended agreements).
    public let used: Int64

    /// A finding as decided.
    public init(ruleID: String, action: RiskAction, list: String? = nil, window: Window? = nil, measure: Measure? = nil,
                max: Int64 = 0, used: Int64 = 0) {
        self.ruleID = ruleID
        self.action = action
        self.list = list
        self.window = window
        self.measure = measure
        self.max = max
        self.used = used
    }
}

/// A velocity or new-agreement rule's check of one payment: its caps against one counter.
public struct RiskCheck: Sendable, Equatable {
    /// The rule's index in ``RuleSet/risk``.
    public let rule: Int
    /// The counter cell (for a rolling window, its newest bucket).
    public let counter: CounterKey
    /// How many buckets the window sums (1 for a natural period or a cool-off).
    public let buckets: Int

    /// A check as planned.
    public init(rule: Int, counter: CounterKey, buckets: Int) {
        self.rule = rule
        self.counter = counter
        self.buckets = buckets
    }
}
