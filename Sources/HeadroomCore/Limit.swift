/// What a counter groups payments by.
public enum Grouping: UInt8, Sendable, NamedCase {
    /// Every payment together: a bank-wide exposure cap.
    case bank = 0
    /// Everything through one institution: an institution exposure cap.
    case institution = 1
    /// One card, across all institutions.
    case card = 2
    /// One card through one institution.
    case cardInstitution = 3
    /// Per agreement (the payment's `agreement_id`): risk rules only.
    case agreement = 4
    /// Per merchant (the payment's `merchant_id`): risk rules only.
    case merchant = 5
    /// Per card at each merchant: risk rules only.
    case cardMerchant = 6

    /// The name rule files write: `bank`, `institution`, `card`, `card+institution`.
    public var name: String {
        switch self {
        case .bank: "bank"
        case .institution: "institution"
        case .card: "card"
        case .cardInstitution: "card+institution"
        case .agreement: "agreement"
        case .merchant: "merchant"
        case .cardMerchant: "card+merchant"
        }
    }

    /// Counters grouped so are kept per card.
    public var usesCard: Bool { self == .card || self == .cardInstitution || self == .cardMerchant }
    /// Counters grouped so are kept per institution.
    public var usesInstitution: Bool { self == .institution || self == .cardInstitution }
}

/// Which payments a limit (and its counter) applies to. Each set is a bit mask of raw values;
/// a `nil` set means every value. A payment that does not say its channel or account type
/// does not match a filter that names some.
public struct Filter: Hashable, Sendable {
    /// The business types counted (at least one).
    public var businesses: Set<Business>
    /// The account classes counted; `nil`: all.
    public var accountClasses: Set<AccountClass>?
    /// The channels counted; `nil`: all (a payment without a channel is counted only then).
    public var channels: Set<Channel>?
    /// The account types counted; `nil`: all.
    public var accountTypes: Set<AccountType>?
    /// The institutions counted; `nil`: all.
    public var institutions: Set<Institution>?

    /// A filter of the payments given; `nil` for every value of an attribute.
    public init(
        businesses: Set<Business>, accountClasses: Set<AccountClass>? = nil, channels: Set<Channel>? = nil,
        accountTypes: Set<AccountType>? = nil, institutions: Set<Institution>? = nil
    ) {
        self.businesses = businesses
        self.accountClasses = accountClasses
        self.channels = channels
        self.accountTypes = accountTypes
        self.institutions = institutions
    }

    /// Whether the filter counts `p`.
    public func matches(_ p: Payment) -> Bool {
        guard businesses.contains(p.business) else { return false }
        if let accountClasses, !accountClasses.contains(p.accountClass) { return false }
        if let channels {
            guard let channel = p.channel, channels.contains(channel) else { return false }
        }
        if let accountTypes {
            guard let type = p.accountType, accountTypes.contains(type) else { return false }
        }
        if let institutions, !institutions.contains(p.institution) { return false }
        return true
    }

    /// The filter as bit masks, for matching on the hot path without hashing.
    public var compiled: CompiledFilter { CompiledFilter(self) }

    /// A stable text form, for counter identities.
    var canonical: String {
        func list<T>(_ set: Set<T>?, _ raw: (T) -> UInt8) -> String {
            guard let set else { return "*" }
            return set.map(raw).sorted().map(String.init).joined(separator: ",")
        }
        let inst = institutions.map { $0.sorted().map(\.code).joined(separator: ",") } ?? "*"
        return "business=\(list(businesses, \.rawValue))|class=\(list(accountClasses, \.rawValue))"
            + "|channel=\(list(channels, \.rawValue))|type=\(list(accountTypes, \.rawValue))|inst=\(inst)"
    }
}

/// A ``Filter`` as bit masks of raw values (every enum here has fewer than 8 cases): matching
/// is a few ANDs. Institutions stay a set; few limits name them.
public struct CompiledFilter: Sendable {
    let businesses: UInt8
    let accountClasses: UInt8
    /// `nil`: every payment, said or not; else the payment must say one of these.
    let channels: UInt8?
    let accountTypes: UInt8?
    let institutions: Set<Institution>?

    init(_ f: Filter) {
        func mask<T: RawRepresentable>(_ set: Set<T>) -> UInt8 where T.RawValue == UInt8 {
            set.reduce(0) { $0 | 1 << $1.rawValue }
        }
        businesses = mask(f.businesses)
        accountClasses = f.accountClasses.map(mask) ?? 0xFF
        channels = f.channels.map(mask)
        accountTypes = f.accountTypes.map(mask)
        institutions = f.institutions
    }

    /// Exactly ``Filter/matches(_:)``.
    @inline(__always)
    public func matches(_ p: Payment) -> Bool {
        guard businesses & 1 << p.business.rawValue != 0, accountClasses & 1 << p.accountClass.rawValue != 0 else { return false }
        if let channels {
            guard let channel = p.channel, channels & 1 << channel.rawValue != 0 else { return false }
        }
        if let accountTypes {
            guard let type = p.accountType, accountTypes & 1 << type.rawValue != 0 else { return false }
        }
        if let institutions, !institutions.contains(p.institution) { return false }
        return true
    }
}

/// The caps of a limit: an amount, a number of payments, or both.
public struct Caps: Hashable, Sendable {
    /// The most amount, in fen; `nil`: no amount cap.
    public var amountFenMax: Int64?
    /// The most payments; `nil`: no count cap.
    public var countMax: Int64?

    /// Caps of the figures given.
    public init(amountFenMax: Int64? = nil, countMax: Int64? = nil) {
        self.amountFenMax = amountFenMax
        self.countMax = countMax
    }

    /// These caps, with any field that `override` sets replaced.
    public func overridden(by override: Caps?) -> Caps {
        guard let override else { return self }
        return Caps(amountFenMax: override.amountFenMax ?? amountFenMax, countMax: override.countMax ?? countMax)
    }

    /// Neither figure is capped.
    public var isEmpty: Bool { amountFenMax == nil && countMax == nil }
}

/// What a counter counts. Two limits with equal definitions share one counter, across rule-set
/// versions too: the identity is a hash of the definition, not of the limit.
public struct CounterDefinition: Hashable, Sendable {
    /// How the counter groups payments.
    public let grouping: Grouping
    /// The counter's window.
    public let window: Window
    /// Which payments it counts.
    public let filter: Filter
    /// Whether refunds give back what they refund (a limit policy, part of what is counted).
    public let refundRestores: Bool
    /// The stable 64-bit identity stored in counter keys: a hash of the definition's canonical
    /// text, computed once here (the hot path reads it for every counter of every payment).
    public let id: UInt64
    /// What it counts: the reservations (approved and challenged payments, as every limit
    /// counts) or every attempt (velocity rules only; never given back).
    public let counting: Counting

    /// A counter of the payments `filter` takes, grouped by `grouping` over `window`.
    public init(grouping: Grouping, window: Window, filter: Filter, refundRestores: Bool, counting: Counting = .approved) {
        precondition(window != .single, "a single-payment cap has no counter")
        self.grouping = grouping
        self.window = window
        self.filter = filter
        self.refundRestores = refundRestores
        self.counting = counting
        var h = FNV1a()
        // The counters of approved payments keep the identity they had before velocity rules:
        // a velocity rule and a limit that count the same share one counter.
        h.add("counter.v1|group=\(grouping.name)|window=\(window)|\(filter.canonical)|refund=\(refundRestores)"
              + (counting == .attempts ? "|counts=attempts" : ""))
        self.id = h.value
    }

    /// The key of the bucket (or natural period) holding `payment`; `nil` when the payment
    /// lacks the field the counter is grouped by (an agreement or merchant id).
    public func key(for payment: Payment) -> CounterKey? {
        CompiledCounter(self).key(for: payment)
    }
}

/// Where a rule came from, for messages: file and line.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    /// The rule file's name.
    public let file: String
    /// The line, from 1.
    public let line: Int

    /// A place in a rule file.
    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    public var description: String { "\(file):\(line)" }
}

/// One limit of a rule set: caps on a counter (or on the payment alone), in a tier.
public struct Limit: Hashable, Sendable {
    public let id: String
    /// The tier it belongs to.
    public let tier: Tier
    /// The window it caps.
    public let window: Window
    /// How its counter groups payments.
    public let grouping: Grouping
    /// Which payments it applies to.
    public let filter: Filter
    /// Whether a refund gives back what it refunds on this limit's counter.
    public let refundRestores: Bool
    /// The caps for every institution not listed in `institutionCaps`.
    public let caps: Caps
    /// Institution tier only: caps for listed institutions, field by field over `caps`.
    public let institutionCaps: [Institution: Caps]
    /// Where the limit is written, for messages (`nil` for one made in code).
    public let source: SourceLocation?

    /// A limit from its fields (rule files make them through `RuleLoader`).
    public init(
        id: String, tier: Tier, window: Window, grouping: Grouping, filter: Filter, refundRestores: Bool,
        caps: Caps, institutionCaps: [Institution: Caps] = [:], source: SourceLocation? = nil
    ) {
        self.id = id
        self.tier = tier
        self.window = window
        self.grouping = grouping
        self.filter = filter
        self.refundRestores = refundRestores
        self.caps = caps
        self.institutionCaps = institutionCaps
        self.source = source
        self.counter = window == .single ? nil
            : CounterDefinition(grouping: grouping, window: window, filter: filter, refundRestores: refundRestores)
    }

    /// The counter this limit reads, or `nil` for a single-payment cap.
    public let counter: CounterDefinition?

    /// The caps that bind a payment through `institution`.
    public func caps(for institution: Institution) -> Caps {
        institutionCaps.isEmpty ? caps : caps.overridden(by: institutionCaps[institution])
    }
}
