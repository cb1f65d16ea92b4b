import HeadroomCore

/// What changes between two rule sets, limit by limit, in words an operator reads:
/// `institution.card-daily (card+institution, daily) for Z2007933000010: amount 50,000.00 -> 30,000.00`.
public struct RuleChange: Hashable, Sendable, CustomStringConvertible {
    /// The limit's id, or `card_tier`.
    public let subject: String
    /// The change in words.
    public let text: String

    public var description: String { text }
}

/// The differences between two rule sets, for `rules diff` and the audit log.
public enum RuleSetDiff {
    /// What changes from `old` to `new`, limit by limit, then the card tier and the hold times.
    public static func changes(from old: RuleSet, to new: RuleSet) -> [RuleChange] {
        var out = byID(old.limits, new.limits, id: \.id, describe: describe, changes: changes)
        if old.cardTier != new.cardTier {
            out.append(RuleChange(subject: "card_tier", text: "card_tier: counts \(describe(old.cardTier.filter)) -> \(describe(new.cardTier.filter)); refunds restore \(old.cardTier.refundRestores) -> \(new.cardTier.refundRestores)"))
        }
        if old.holds != new.holds {
            out += holdChanges(old.holds, new.holds)
            if old.holds?.challengeSeconds != new.holds?.challengeSeconds {
                let text = { (h: HoldTimes?) in h?.challengeSeconds.map(HoldTimes.text) ?? "none" }
                out.append(RuleChange(subject: "holds", text: "holds: challenge \(text(old.holds)) -> \(text(new.holds))"))
            }
        }
        out += byID(old.risk, new.risk, id: \.id, describe: describe) { before, rule in
            describe(before) == describe(rule) ? []
                : [RuleChange(subject: rule.id, text: "\(rule.id): \(describe(before)) -> \(describe(rule))")]
        }
        return out
    }

    /// Rules matched by id: those removed (in the old order), then, in the new order, each added
    /// or what `changes` says of one kept.
    static func byID<Rule>(_ old: [Rule], _ new: [Rule], id: (Rule) -> String, describe: (Rule) -> String,
                           changes: (Rule, Rule) -> [RuleChange]) -> [RuleChange] {
        var out: [RuleChange] = []
        let oldByID = Dictionary(old.map { (id($0), $0) }, uniquingKeysWith: { a, _ in a })
        let newIDs = Set(new.map(id))
        for rule in old where !newIDs.contains(id(rule)) {
            out.append(RuleChange(subject: id(rule), text: "removed \(id(rule)): \(describe(rule))"))
        }
        for rule in new {
            guard let before = oldByID[id(rule)] else {
                out.append(RuleChange(subject: id(rule), text: "added \(id(rule)): \(describe(rule))"))
                continue
            }
            out += changes(before, rule)
        }
        return out
    }

    /// `decline card on list blocked-cards, gateway` or `challenge attempts per card per 10
    /// minutes: more than 30, agreement/gateway`.
    public static func describe(_ rule: RiskRule) -> String {
        let what: String
        switch rule.kind {
        case .list(let name, let field): what = "\(field.name) on list \(name)"
        case .endedAgreement: what = "agreement ended"
        case .velocity(let counting):
            what = "\(counting.name) per \(rule.grouping!.name) \(rule.window!.phrase): "
                + [rule.caps.amountFenMax.map { "amount above \(Amount.grouped($0))" }, rule.caps.countMax.map { "more than \($0)" }]
                .compactMap { $0 }.joined(separator: " or ") + (rule.refundRestores ? ", refunds restore" : "")
        case .newAgreement(let seconds):
            what = "agreement signed less than \(HoldTimes.text(seconds)) ago: "
                + [rule.caps.amountFenMax.map { "amount above \(Amount.grouped($0))" }, rule.caps.countMax.map { "more than \($0) payments" }]
                .compactMap { $0 }.joined(separator: " or ")
        }
        return "\(rule.action.name) \(what), \(describe(rule.filter))"
    }

    /// `holds: gateway (corporate) 30d -> 7d`, one line per business and account type changed.
    static func holdChanges(_ a: HoldTimes?, _ b: HoldTimes?) -> [RuleChange] {
        func text(_ h: HoldTimes?, _ business: Business, _ type: AccountType) -> String {
            guard let h else { return "none (reservations held until confirmed or released)" }
            return h.seconds(for: business, accountType: type).map(HoldTimes.text) ?? "none"
        }
        var out: [RuleChange] = []
        for business in Business.allCases where business != .refund {
            let (ap, bp) = (text(a, business, .personal), text(b, business, .personal))
            let (ac, bc) = (text(a, business, .corporate), text(b, business, .corporate))
            if ap == ac && bp == bc {
                if ap != bp { out.append(RuleChange(subject: "holds", text: "holds: \(business.name) \(ap) -> \(bp)")) }
                continue
            }
            if ap != bp { out.append(RuleChange(subject: "holds", text: "holds: \(business.name) (personal) \(ap) -> \(bp)")) }
            if ac != bc { out.append(RuleChange(subject: "holds", text: "holds: \(business.name) (corporate) \(ac) -> \(bc)")) }
        }
        return out
    }

    static func changes(_ a: Limit, _ b: Limit) -> [RuleChange] {
        let head = "\(b.id) (\(scope(b)))"
        var out: [String] = []
        if a.tier != b.tier { out.append("\(head): tier \(a.tier) -> \(b.tier)") }
        if a.window != b.window { out.append("\(head): window \(a.window) -> \(b.window)") }
        if a.grouping != b.grouping && b.window != .single { out.append("\(head): group \(a.grouping) -> \(b.grouping)") }
        if a.filter != b.filter { out.append("\(head): applies to \(describe(a.filter)) -> \(describe(b.filter))") }
        if a.refundRestores != b.refundRestores { out.append("\(head): refunds restore \(a.refundRestores) -> \(b.refundRestores)") }
        out += capChanges(head, a.caps, b.caps, who: b.tier == .institution ? "every other institution" : nil)
        let institutions = Set(a.institutionCaps.keys).union(b.institutionCaps.keys).sorted()
        for institution in institutions {
            let before = a.institutionCaps[institution].map { a.caps.overridden(by: $0) }
            let after = b.institutionCaps[institution].map { b.caps.overridden(by: $0) }
            out += capChanges("\(head) for \(institution.code)", before ?? a.caps, after ?? b.caps, who: nil)
        }
        return out.map { RuleChange(subject: b.id, text: $0) }
    }

    static func capChanges(_ head: String, _ a: Caps, _ b: Caps, who: String?) -> [String] {
        let target = who.map { "\(head) for \($0)" } ?? head
        var out: [String] = []
        if a.amountFenMax != b.amountFenMax { out.append("\(target): amount \(amount(a.amountFenMax)) -> \(amount(b.amountFenMax))") }
        if a.countMax != b.countMax { out.append("\(target): count \(count(a.countMax)) -> \(count(b.countMax))") }
        return out
    }

    /// `bank, card, daily, agreement/gateway, amount 200,000.00, count 50`
    public static func describe(_ limit: Limit) -> String {
        ([limit.tier.name, scope(limit), describe(limit.filter)] + capParts(limit)).joined(separator: ", ")
    }

    /// `amount 20,000.00`, `count 4`, `Z2007933000010: amount 50,000.00`, `refunds restore`.
    public static func capParts(_ limit: Limit) -> [String] {
        var parts: [String] = []
        if let v = limit.caps.amountFenMax { parts.append("amount \(Amount.grouped(v))") }
        if let v = limit.caps.countMax { parts.append("count \(v)") }
        for (institution, caps) in limit.institutionCaps.sorted(by: { $0.key < $1.key }) {
            let c = limit.caps.overridden(by: caps)
            parts.append("\(institution.code): " + [c.amountFenMax.map { "amount \(Amount.grouped($0))" }, c.countMax.map { "count \($0)" }]
                .compactMap { $0 }.joined(separator: ", "))
        }
        if limit.refundRestores { parts.append("refunds restore") }
        return parts
    }

    /// `card+institution, daily` or `single payment`.
    public static func scope(_ limit: Limit) -> String {
        limit.window == .single ? "single payment" : "\(limit.grouping), \(limit.window.phrase)"
    }

    /// `agreement/gateway, class II, channel app`
    public static func describe(_ filter: Filter) -> String {
        var parts = [filter.businesses.sorted { $0.rawValue < $1.rawValue }.map(\.name).joined(separator: "/")]
        if let s = filter.accountClasses { parts.append("class " + s.sorted { $0.rawValue < $1.rawValue }.map(\.name).joined(separator: "/")) }
        if let s = filter.channels { parts.append("channel " + s.sorted { $0.rawValue < $1.rawValue }.map(\.name).joined(separator: "/")) }
        if let s = filter.accountTypes { parts.append("account " + s.sorted { $0.rawValue < $1.rawValue }.map(\.name).joined(separator: "/")) }
        if let s = filter.institutions { parts.append("institutions " + s.sorted().map(\.code).joined(separator: "/")) }
        return parts.joined(separator: ", ")
    }

    static func amount(_ v: Int64?) -> String { v.map(Amount.grouped) ?? "none" }
    static func count(_ v: Int64?) -> String { v.map { "\($0)" } ?? "none" }
}
