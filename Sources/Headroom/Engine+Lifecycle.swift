import HeadroomCore
import LMDBKit

extension Engine {
    /// Only the record's state, hold time and history change: it is rewritten byte for byte but
    /// for those, with nothing decoded (the commonest operation after authorize allocates nothing).
    func confirm(_ id: PaymentID, in txn: borrowing StoreTransaction) throws(HeadroomError) {
        let header = try store.transition(txn, id: id.text, to: .confirmed, event: .init(kind: .confirmed, time: now)) { (header) throws(HeadroomError) in
            try requireApproved(header.kind, header.state, id)
            try requireAuthorized(header.state, id)
            try requireHeld(header.heldUntil, id)
        }
        guard let header else { throw HeadroomError(.unknownPayment, "no payment \(id) is on record") }
        if header.heldUntil != 0 { try store.deleteExpiry(txn, due: header.heldUntil, id: id.text) }
    }

    func release(_ id: PaymentID, in txn: borrowing StoreTransaction) throws(HeadroomError) {
        var record = try approvedPayment(txn, id)
        if record.state != .challenged { try requireAuthorized(record.state, id) }
        try requireHeld(record.heldUntil, id)
        let purgedBefore = try purgeHorizon(txn)
        for update in record.counters where !update.countsAttempts {
            let held = record.held(on: update)
            try adjust(txn, update.key, amountFen: -held.amountFen, count: -held.count, purgedBefore: purgedBefore)
        }
        if record.heldUntil != 0 { try store.deleteExpiry(txn, due: record.heldUntil, id: id.text) }
        record.state = .released
        record.heldUntil = 0
        record.events.append(.init(kind: .released, time: now))
        try store.put(txn, id: id.text, record)
    }

    func refund(_ request: RefundRequest, in txn: borrowing StoreTransaction) throws(HeadroomError) -> RefundResult {
        if let existing = try previous(txn, request.id, .refund, fingerprint: request.fingerprint) {
            let original = try store.record(txn, id: request.original.text)
            return RefundResult(id: request.id, original: request.original, amount: request.amount,
                                refundedTotalFen: existing.refundedFen,
                                remainingFen: (original?.amountFen ?? existing.refundedFen) - existing.refundedFen, replayed: true)
        }
        var original = try refundable(txn, request)
        let total = original.refundedFen + request.amount.fen
        let fullyRefunded = total == original.amountFen
        let purgedBefore = try purgeHorizon(txn)
        for update in original.counters where update.refundRestores {
            try adjust(txn, update.key, amountFen: -request.amount.fen, count: fullyRefunded ? -1 : 0, purgedBefore: purgedBefore)
        }
        original.refundedFen = total
        original.events.append(.init(kind: .refunded, time: now, amountFen: request.amount.fen))
        try store.put(txn, id: request.original.text, original)
        let record = PaymentRecord(
            kind: .refund, state: .refunded, fingerprint: request.fingerprint, time: request.time,
            amountFen: request.amount.fen, refundedFen: total, ruleSetVersion: ruleSetVersion,
            decision: Decision(outcome: .approve, code: .approved, decidedBy: nil, headroom: [:], ruleSetVersion: ruleSetVersion),
            counters: [], original: request.original.text, events: [.init(kind: .refunded, time: now, amountFen: total)])
        try store.put(txn, id: request.id.text, record)
        return RefundResult(id: request.id, original: request.original, amount: request.amount,
                            refundedTotalFen: total, remainingFen: original.amountFen - total, replayed: false)
    }

    /// The state of a payment on record (``PaymentState/refunded`` for a refund); `nil` when
    /// unknown.
    public func state(of id: PaymentID) throws(HeadroomError) -> PaymentState? {
        let txn = try store.beginRead()
        return try store.record(txn, id: id.text)?.state
    }

    // MARK: Helpers

    /// The record an id already has, when it is a retry of the same `kind` with the same
    /// content (its first answer is given again); `nil` for a new id.
    /// - Throws: `idConflict` when the id was used for something else.
    func previous(_ txn: borrowing StoreTransaction, _ id: PaymentID, _ kind: PaymentRecord.Kind,
                  fingerprint: UInt64) throws(HeadroomError) -> PaymentRecord? {
        guard let existing = try store.record(txn, id: id.text) else { return nil }
        guard existing.kind == kind, existing.fingerprint == fingerprint else {
            throw HeadroomError(.idConflict, "\(id) was already used for another \(existing.kind == .payment ? "payment" : "refund")")
        }
        return existing
    }

    func approvedPayment(_ txn: borrowing StoreTransaction, _ id: PaymentID) throws(HeadroomError) -> PaymentRecord {
        guard let record = try store.record(txn, id: id.text) else {
            throw HeadroomError(.unknownPayment, "no payment \(id) is on record")
        }
        try requireApproved(record.kind, record.state, id)
        return record
    }

    func requireApproved(_ kind: PaymentRecord.Kind, _ state: PaymentRecord.State, _ id: PaymentID) throws(HeadroomError) {
        guard kind == .payment else {
            throw HeadroomError(.notAPayment, "\(id) is a refund, not a payment")
        }
        guard state != .declined else {
            throw HeadroomError(.notApproved, "\(id) was declined: there is nothing to confirm, release or refund")
        }
    }

    func requireAuthorized(_ state: PaymentRecord.State, _ id: PaymentID) throws(HeadroomError) {
        switch state {
        case .authorized: return
        case .confirmed: throw HeadroomError(.alreadyConfirmed, "\(id) is already confirmed (a confirmed payment is refunded, not released)")
        case .released: throw HeadroomError(.alreadyReleased, "\(id) was already released")
        case .expired: throw HeadroomError(.expired, "\(id) expired: its hold time ran out and its reservation was given back; reconciliation settles it")
        case .reversed: throw HeadroomError(.reversed, "\(id) was reversed by reconciliation (NetsUnion says it failed)")
        case .challenged: throw HeadroomError(.challenged, "\(id) is challenged: verify it first (the customer's step-up), or release it")
        default: throw HeadroomError(.corrupted, "\(id) is in state \(state.name)")
        }
    }

    func refundable(_ txn: borrowing StoreTransaction, _ request: RefundRequest) throws(HeadroomError) -> PaymentRecord {
        let original = try approvedPayment(txn, request.original)
        switch original.state {
        case .confirmed: break
        case .released: throw HeadroomError(.alreadyReleased, "\(request.original) was released: there is nothing to refund")
        case .expired: throw HeadroomError(.expired, "\(request.original) expired unconfirmed: there is nothing to refund")
        case .reversed: throw HeadroomError(.reversed, "\(request.original) was reversed by reconciliation: there is nothing to refund")
        default: throw HeadroomError(.notConfirmed, "\(request.original) is not confirmed yet: release it instead of refunding")
        }
        let remaining = original.amountFen - original.refundedFen
        guard request.amount.fen <= remaining else {
            throw HeadroomError(.refundExceedsRemaining,
                                "refund \(request.id) of \(request.amount.grouped) is above what remains of \(request.original): \(Amount.grouped(remaining))")
        }
        return original
    }

    /// Adds to a cell (negative figures give back): the one way a payment's life after its
    /// authorization changes counters. A cell whose window was purged is over and is left as it
    /// is; a change of nothing writes nothing.
    func adjust(_ txn: borrowing StoreTransaction, _ key: CounterKey, amountFen: Int64, count: Int64, purgedBefore: Int32) throws(HeadroomError) {
        if key.deadFromDay <= purgedBefore || (amountFen == 0 && count == 0) { return }
        try store.add(txn, key, amountFen: amountFen, count: count)
    }

    func purgeHorizon(_ txn: borrowing StoreTransaction) throws(HeadroomError) -> Int32 {
        Int32(try store.metaInteger(txn, .purgedBeforeDay) ?? Int64(Int32.min))
    }
}
