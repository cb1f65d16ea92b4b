import HeadroomCore

/// An agreement signed (协议签约, or a 商业委托 mandate): `{"op":"sign-agreement",…}`.
public struct AgreementSigning: Sendable {
    /// The agreement's id, as the institution names it (1 to 64 bytes of text).
    public var agreementID: String
    /// The card it debits.
    public var card: CardNumber
    /// The payment institution it was signed with.
    public var institution: Institution
    /// Agreement payments or entrusted payments.
    public var kind: AgreementFacts.Kind
    /// When it was signed (the line's time): a new agreement's cool-off counts from it.
    public var time: Timestamp

    /// A signing as reported.
    public init(agreementID: String, card: CardNumber, institution: Institution, kind: AgreementFacts.Kind, time: Timestamp) {
        self.agreementID = agreementID
        self.card = card
        self.institution = institution
        self.kind = kind
        self.time = time
    }
}

/// An agreement ended (解约), by the bank or by the institution: `{"op":"end-agreement",…}`.
public struct AgreementEnding: Sendable {
    /// The agreement's id.
    public var agreementID: String
    /// Who ended it.
    public var by: AgreementFacts.Side
    /// When.
    public var time: Timestamp

    /// An ending as reported.
    public init(agreementID: String, by: AgreementFacts.Side, time: Timestamp) {
        self.agreementID = agreementID
        self.by = by
        self.time = time
    }
}

extension Engine {
    /// Sets the keyed hashes of the payment's agreement and merchant ids, which risk rules read
    /// (only when the rule set in force has risk rules: limits never read them).
    func keyIdentifiers(_ payment: inout Payment, always: Bool = false) {
        guard always || !ruleSet.risk.isEmpty || shadow?.rules.risk.isEmpty == false else { return }
        if let id = payment.agreementID { payment.agreementKey = cardKey.hash(id, domain: "agreement") }
        if let id = payment.merchantID { payment.merchantKey = cardKey.hash(id, domain: "merchant") }
    }

    /// What the store says about the payment for `rules`' risk rules: which lists it is on
    /// (one read per list rule that applies to it) and its agreement (one read).
    func riskFacts(_ txn: borrowing StoreTransaction, _ payment: Payment, _ rules: RuleSet) throws(HeadroomError) -> RiskFacts {
        var facts = RiskFacts.none
        for (bit, index) in rules.listRules.enumerated() {
            let rule = rules.risk[index]
            guard case .list(let name, let field) = rule.kind, rules.listRuleApplies(bit, to: payment) else { continue }
            let identity: CardHash? = switch field {
            case .card: payment.card
            case .agreement: payment.agreementKey
            case .merchant: payment.merchantKey
            case .institution: CardHash(high: payment.institution.high, low: payment.institution.low)
            }
            if let identity, try store.listContains(txn, name, identity) { facts.listHits |= 1 << UInt64(bit) }
        }
        if rules.readsAgreements, payment.business == .agreement || payment.business == .entrusted, let key = payment.agreementKey {
            facts.agreement = try store.agreement(txn, key)?.facts
        }
        return facts
    }

    /// Turns a challenged payment into an approved one (the customer passed the step-up): it
    /// keeps its reservation, now for its business's hold time from now. A verify of a payment
    /// already verified answers `replayed`.
    func verify(_ id: PaymentID, in txn: borrowing StoreTransaction) throws(HeadroomError) -> Bool {
        var record = try approvedPayment(txn, id)
        if record.events.contains(where: { $0.kind == .verified }), record.state != .challenged {
            return true
        }
        guard record.state == .challenged else {
            if record.state == .expired && record.decision.outcome == .challenge {
                throw HeadroomError(.expired, "\(id) was challenged and not verified in time: its reservation was given back; authorize it again under a new id")
            }
            if record.state == .released && record.decision.outcome == .challenge {
                throw HeadroomError(.alreadyReleased, "\(id) was challenged and then released: there is nothing to verify")
            }
            throw HeadroomError(.notChallenged, "\(id) is \(record.state.name), not challenged: there is nothing to verify")
        }
        if record.heldUntil != 0 && record.heldUntil <= now {
            throw HeadroomError(.expired, "\(id) was challenged until \(Timestamp(unixSeconds: record.heldUntil).chinaISO8601): the verification came too late and its reservation is given back")
        }
        if record.heldUntil != 0 { try store.deleteExpiry(txn, due: record.heldUntil, id: id.text) }
        let hold = record.subject.flatMap { ruleSet.holds?.seconds(for: $0.business, accountType: $0.accountType) }
        record.state = .authorized
        record.heldUntil = hold.map { now + $0 } ?? 0
        record.events.append(.init(kind: .verified, time: now))
        try store.put(txn, id: id.text, record)
        if record.heldUntil != 0 { try store.putExpiry(txn, due: record.heldUntil, id: id.text) }
        return false
    }

    /// Records an agreement; the same signing again answers `replayed`.
    func signAgreement(_ signing: AgreementSigning, card: CardHash, in txn: borrowing StoreTransaction) throws(HeadroomError) -> Bool {
        let key = cardKey.hash(signing.agreementID, domain: "agreement")
        let record = AgreementRecord(facts: AgreementFacts(kind: signing.kind, signedAt: signing.time), card: card,
                                     institution: signing.institution)
        if let existing = try store.agreement(txn, key) {
            if existing.facts.endedAt != nil {
                throw HeadroomError(.agreementConflict, "agreement \(signing.agreementID) was ended by the \(existing.facts.endedBy?.name ?? "bank"): a new agreement needs a new id")
            }
            guard existing == record else {
                throw HeadroomError(.agreementConflict, "agreement \(signing.agreementID) is already on record with another card, institution, kind or time")
            }
            return true
        }
        try store.putAgreement(txn, key, record)
        return false
    }

    /// Records that an agreement ended: agreement and entrusted payments naming it are declined
    /// by an `ended-agreement` rule. An agreement Headroom never saw signed (signed before it
    /// was installed) is recorded as ended all the same. Ending it again answers `replayed`.
    func endAgreement(_ ending: AgreementEnding, in txn: borrowing StoreTransaction) throws(HeadroomError) -> Bool {
        let key = cardKey.hash(ending.agreementID, domain: "agreement")
        var record = try store.agreement(txn, key)
            ?? AgreementRecord(facts: AgreementFacts(kind: nil, signedAt: nil), card: .ungrouped, institution: .ungrouped)
        if record.facts.endedAt != nil { return true }
        record.facts.endedAt = ending.time
        record.facts.endedBy = ending.by
        try store.putAgreement(txn, key, record)
        return false
    }

    /// The agreement `id` as recorded (`nil` when it is not on record).
    public func agreement(_ id: String) throws(HeadroomError) -> AgreementFacts? {
        let txn = try store.beginRead()
        return try store.agreement(txn, cardKey.hash(id, domain: "agreement"))?.facts
    }
}
