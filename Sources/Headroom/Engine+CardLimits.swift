import HeadroomCore
import LMDBKit

extension Engine {
    /// Sets a customer's own limits for a card (``PaymentLifecycle/setCardLimits(_:institution:_:by:)``),
    /// inside the caller's write transaction; `card` is the hash of the change's card number.
    func setCardLimits(_ change: CardLimitChange, card: CardHash, in txn: borrowing StoreTransaction) throws(HeadroomError) -> CardLimits {
        try ruleBook.requireName(change.by)
        let institution = change.institution
        let merged = (try store.cardLimits(txn, card, institution) ?? CardLimits()).merged(with: change.limits)
        for entry in merged.entries {
            if let (limit, cap) = bindingLimit(entry.window, entry.measure, institution: institution), entry.value > cap {
                let unit = entry.measure == .amount ? Amount.grouped(entry.value) : "\(entry.value) payments"
                let capText = entry.measure == .amount ? Amount.grouped(cap) : "\(cap) payments"
                throw HeadroomError(.cardLimitAboveBank,
                                    "\(entry.window.phrase) \(entry.measure) \(unit) is above \(limit.tier) limit \(limit.id) (\(capText)): a customer may only lower the bank's limits")
            }
        }
        try txn.put(.cards, key: Store.cardKey(card, institution), value: merged.encoded)
        try AuditLog.append(store, txn, time: options.clock(), operatorName: change.by, action: "card-limit.set",
                            detail: "card \(change.card.masked) \(Self.scope(institution)): \(Self.describe(merged))")
        return merged
    }

    /// The customer's own limits for a card (all institutions, or one); `nil` when none.
    public func cardLimits(_ card: CardNumber, institution: Institution?) throws(HeadroomError) -> CardLimits? {
        let txn = try store.beginRead()
        return try store.cardLimits(txn, cardKey.hash(card), institution)
    }

    /// Removes the customer's own limits for a card, inside the caller's write transaction;
    /// answers whether there were any.
    func clearCardLimits(_ number: CardNumber, _ card: CardHash, institution: Institution?, by name: String,
                         in txn: borrowing StoreTransaction) throws(HeadroomError) -> Bool {
        try ruleBook.requireName(name)
        let removed = try txn.delete(.cards, key: Store.cardKey(card, institution))
        if removed {
            try AuditLog.append(store, txn, time: options.clock(), operatorName: name, action: "card-limit.clear",
                                detail: "card \(number.masked) \(Self.scope(institution))")
        }
        return removed
    }

    static func scope(_ institution: Institution?) -> String {
        institution.map { "at \($0.code)" } ?? "(all institutions)"
    }

    static func describe(_ limits: CardLimits) -> String {
        var parts: [String] = []
        if let v = limits.singleAmountFenMax { parts.append("single amount \(Amount.grouped(v))") }
        if let v = limits.dailyAmountFenMax { parts.append("daily amount \(Amount.grouped(v))") }
        if let v = limits.dailyCountMax { parts.append("daily count \(v)") }
        if let v = limits.monthlyAmountFenMax { parts.append("monthly amount \(Amount.grouped(v))") }
        return parts.joined(separator: ", ")
    }

    /// The tightest bank (and, for one institution, institution) limit that caps the same
    /// window and measure per card, over at least every payment the card tier counts; a
    /// customer's value may not exceed it. A narrower limit (say, gateway payments from PCs
    /// only) does not bound what a customer may allow for all their payments.
    func bindingLimit(_ window: Window, _ measure: Measure, institution: Institution?) -> (Limit, Int64)? {
        var tightest: (Limit, Int64)?
        for limit in ruleSet.limits where limit.window == window && covers(limit.filter, institution) {
            let caps: Caps
            switch limit.tier {
            case .bank where window == .single || limit.grouping == .card:
                caps = limit.caps
            case .institution where institution != nil && (window == .single || limit.grouping == .cardInstitution):
                caps = limit.caps(for: institution!)
            default:
                continue
            }
            guard let cap = measure == .amount ? caps.amountFenMax : caps.countMax else { continue }
            if cap < (tightest?.1 ?? .max) { tightest = (limit, cap) }
        }
        return tightest
    }

    /// Whether `filter` applies to every payment the card tier counts (for one institution).
    func covers(_ filter: Filter, _ institution: Institution?) -> Bool {
        let card = ruleSet.cardTier.filter
        guard filter.businesses.isSuperset(of: card.businesses) else { return false }
        if let classes = filter.accountClasses, classes != card.accountClasses.map({ classes.union($0) }) { return false }
        if let channels = filter.channels, channels != card.channels.map({ channels.union($0) }) { return false }
        if let types = filter.accountTypes, types != card.accountTypes.map({ types.union($0) }) { return false }
        if let institutions = filter.institutions {
            guard let institution, institutions.contains(institution) else { return false }
        }
        return true
    }
}
