import HeadroomCore

/// Reconciliation (对账, decision 0015): NetsUnion's final status of a transaction wins over
/// the bank's record. Applied exactly once: the record keeps the line (status, amount, batch)
/// in its history, the same line again changes nothing, and a contradicting one is refused.
extension Engine {
    func reconcile(_ line: ReconciliationLine, card: CardHash?, in txn: borrowing StoreTransaction) throws(HeadroomError) -> ReconcileResult {
        var event = PaymentRecord.Event(kind: .reconciled, detail: line.status.rawValue, time: now,
                                        amountFen: line.amount.fen, extra: line.batch.number)
        guard var record = try store.record(txn, id: line.id.text) else {
            return try reconcileUnknown(line, card: card, event, in: txn)
        }
        guard record.kind == .payment else { throw HeadroomError(.notAPayment, "\(line.id) is a refund, not a payment") }
        if let earlier = record.events.last(where: { $0.kind == .reconciled }) {
            guard earlier.detail & 0x0F == event.detail && earlier.amountFen == event.amountFen else {
                throw HeadroomError(.reconcileConflict, "\(line.id) was reconciled as \(Self.statusCode(earlier.detail & 0x0F)) for \(Amount.grouped(earlier.amountFen)) in \(ReconciliationBatch(number: earlier.extra)); this line says \(line.status) for \(line.amount.grouped): not applied")
            }
            return ReconcileResult(id: line.id, correction: .alreadyReconciled, state: record.state, amountFen: record.amountFen,
                                   amountCorrectedFromFen: nil, overLimit: nil)
        }
        if let subject = record.subject, subject.institution != line.institution {
            throw HeadroomError(.reconcileConflict, "\(line.id) was paid through \(subject.institution); this line names \(line.institution): not applied")
        }
        let purgedBefore = try purgeHorizon(txn)
        let bankAmount = record.amountFen
        var correction = ReconcileResult.Correction.unchanged
        var overLimit: FailedLimit?
        if line.status.counts {
            switch record.state {
            case .authorized, .confirmed, .challenged:
                if line.amount.fen != bankAmount {
                    guard line.amount.fen >= record.refundedFen else {
                        throw HeadroomError(.reconcileConflict, "\(line.id): NetsUnion's amount \(line.amount.grouped) is below what was refunded of it, \(Amount.grouped(record.refundedFen)): not applied")
                    }
                    // Each cell goes from what the payment held at the bank's amount to what it
                    // holds at NetsUnion's (a fully refunded one may hold a count again).
                    for update in record.counters where !update.countsAttempts {
                        let before = record.held(on: update), after = record.held(on: update, amountFen: line.amount.fen)
                        try adjust(txn, update.key, amountFen: after.amountFen - before.amountFen, count: after.count - before.count,
                                   purgedBefore: purgedBefore)
                    }
                }
                correction = record.state == .confirmed ? .unchanged : .confirmed
            case .declined, .released, .expired:
                let attempts = record.counters.filter(\.countsAttempts)
                (record.counters, overLimit) = try recount(record, id: line.id, amountFen: line.amount.fen, purgedBefore: purgedBefore, in: txn)
                record.counters = attempts + record.counters.filter { !$0.countsAttempts }
                correction = .recounted
            case .reversed, .refunded:
                throw HeadroomError(.corrupted, "\(line.id) is \(record.state.name) without a reconciliation on record")
            }
            record.state = .confirmed
            record.amountFen = line.amount.fen
        } else {
            switch record.state {
            case .authorized, .confirmed, .challenged:
                for update in record.counters where !update.countsAttempts {
                    let held = record.held(on: update)
                    try adjust(txn, update.key, amountFen: -held.amountFen, count: -held.count, purgedBefore: purgedBefore)
                }
                record.state = .reversed
                correction = .givenBack
            case .declined, .released, .expired:
                correction = .unchanged
            case .reversed, .refunded:
                throw HeadroomError(.corrupted, "\(line.id) is \(record.state.name) without a reconciliation on record")
            }
        }
        if record.heldUntil != 0 {
            try store.deleteExpiry(txn, due: record.heldUntil, id: line.id.text)
            record.heldUntil = 0
        }
        event.detail |= PaymentRecord.Event.correctionTag(correction) << 4
        record.events.append(event)
        try store.put(txn, id: line.id.text, record)
        let corrected = line.status.counts && line.amount.fen != bankAmount ? bankAmount : nil
        return ReconcileResult(id: line.id, correction: correction, state: record.state, amountFen: record.amountFen,
                               amountCorrectedFromFen: corrected, overLimit: overLimit)
    }

    /// A transaction the bank has no record of: recorded, so that the same line again is
    /// recognised, and counted in its windows when it succeeded.
    private func reconcileUnknown(_ line: ReconciliationLine, card: CardHash?, _ event: PaymentRecord.Event,
                                  in txn: borrowing StoreTransaction) throws(HeadroomError) -> ReconcileResult {
        let payment = card.flatMap { card in
            line.unseen.map {
                Payment(id: line.id, time: line.time, card: card, institution: line.institution, business: $0.business,
                        amount: line.amount, accountClass: $0.accountClass, channel: $0.channel, accountType: $0.accountType)
            }
        }
        var counters: [CounterUpdate] = []
        var overLimit: FailedLimit?
        if line.status.counts {
            guard let payment else {
                throw HeadroomError(.invalidInput, "\(line.id) is unknown to the bank and NetsUnion says it succeeded: to count it, the line needs its card, business and account class")
            }
            guard payment.business != .refund else {
                throw HeadroomError(.invalidInput, "\(line.id): a refund is not reconciled as a payment")
            }
            (counters, overLimit) = try count(payment, purgedBefore: try purgeHorizon(txn), in: txn)
        }
        let approval = Decision(outcome: .approve, code: .approved, decidedBy: nil, headroom: [:], ruleSetVersion: ruleSetVersion)
        let record = PaymentRecord(
            kind: .payment, state: line.status.counts ? .confirmed : .reversed, fingerprint: payment?.fingerprint ?? 0,
            time: line.time, amountFen: line.amount.fen, refundedFen: 0, ruleSetVersion: ruleSetVersion,
            subject: payment.map(PaymentRecord.Subject.init), decision: approval, counters: counters, original: nil,
            events: [.init(kind: .reconciled, detail: event.detail | PaymentRecord.Event.correctionTag(.unknownToBank) << 4,
                           time: event.time, amountFen: event.amountFen, extra: event.extra)])
        try store.put(txn, id: line.id.text, record)
        return ReconcileResult(id: line.id, correction: .unknownToBank, state: record.state, amountFen: line.amount.fen,
                               amountCorrectedFromFen: nil, overLimit: overLimit)
    }

    /// Counts a released, expired or declined payment again, with NetsUnion's amount, in the
    /// windows of its own time: the cells it reserved on, or (declined: it reserved none) those
    /// the rule set in force plans for it. Answers the cells and the first limit it went past.
    private func recount(_ record: PaymentRecord, id: PaymentID, amountFen: Int64, purgedBefore: Int32,
                         in txn: borrowing StoreTransaction) throws(HeadroomError) -> ([CounterUpdate], FailedLimit?) {
        let payment = record.subject?.payment(id: id, time: record.time, amountFen: amountFen)
        if !record.counters.contains(where: { !$0.countsAttempts }) {
            guard let payment else {
                throw HeadroomError(.reconcileConflict, "\(id) was declined before Headroom 0.11 and its record lacks what counting it needs: count it by hand (not applied)")
            }
            return try count(payment, purgedBefore: purgedBefore, in: txn)
        }
        var overLimit: FailedLimit?
        if let payment {
            let (plan, usage, _) = try evaluate(txn, payment)
            overLimit = decide(amountFen: amountFen, checks: plan.checks, usage: usage, ruleSetVersion: ruleSetVersion).failed
        }
        for update in record.counters where !update.countsAttempts {
            try adjust(txn, update.key, amountFen: amountFen, count: 1, purgedBefore: purgedBefore)
        }
        return (record.counters, overLimit)
    }

    /// Adds `payment` to every cell the rule set in force plans for it, whatever its caps say;
    /// answers the cells and the first cap it went past.
    private func count(_ payment: Payment, purgedBefore: Int32, in txn: borrowing StoreTransaction) throws(HeadroomError) -> ([CounterUpdate], FailedLimit?) {
        let (plan, usage, _) = try evaluate(txn, payment)
        let decision = decide(amountFen: payment.amount.fen, checks: plan.checks, usage: usage, ruleSetVersion: ruleSetVersion)
        for update in plan.updates {
            try adjust(txn, update.key, amountFen: payment.amount.fen, count: 1, purgedBefore: purgedBefore)
        }
        return (plan.updates, decision.failed)
    }

    static func statusCode(_ raw: UInt8) -> String { ReconciliationStatus(rawValue: raw)?.code ?? "0\(raw)" }
}

extension Engine {
    /// Records in the audit log that `name` applied the reconciliation file `file`, with what
    /// it changed (`summary`).
    public func recordReconciliation(of file: String, _ summary: String, by name: String) throws(HeadroomError) {
        try ruleBook.requireName(name)
        try write { (txn) throws(HeadroomError) in
            try AuditLog.append(store, txn, time: options.clock(), operatorName: name, action: "reconcile.file", detail: "\(file): \(summary)")
        }
    }
}
