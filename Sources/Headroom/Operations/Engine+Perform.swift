import HeadroomCore

extension Engine: PaymentLifecycle {
    /// Performs one operation in one write transaction, and answers once it is committed
    /// (durable as ``Options/durability`` says). A refused operation changes nothing of its own
    /// (the reservations due to expire are given back all the same).
    public func perform(_ operation: EngineOperation) throws(HeadroomError) -> Answer {
        let started = Telemetry.now()
        let result = Result { () throws(HeadroomError) in try performAlone(operation) }
        telemetry.answered(operation, result, started: started)
        return try result.get()
    }

    private func performAlone(_ operation: EngineOperation) throws(HeadroomError) -> Answer {
        let card = operation.card.map(cardKey.hash)
        var expired = 0
        do {
            return try write { (txn) throws(HeadroomError) in
                expired = try begin(txn)
                return try perform(operation, card: card, in: txn)
            }
        } catch where expired > 0 && error.code != .storage && error.code != .corrupted {
            // The refusal aborted the transaction and the expiries it began with: they go alone.
            try write { (txn) throws(HeadroomError) in _ = try begin(txn) }
            throw error
        }
    }

    /// The one dispatch of every operation, inside a write transaction the caller owns: the
    /// engine's own ``perform(_:)`` and every batch of a ``GroupCommitter`` come here. `card` is
    /// the keyed hash of the operation's card number (``EngineOperation/card``), taken by the caller.
    func perform(_ operation: EngineOperation, card: CardHash?, in txn: borrowing StoreTransaction) throws(HeadroomError) -> Answer {
        switch operation {
        case .authorize(let request):
            return .authorized(try authorize(request.withCard(card!), in: txn))
        case .confirm(let id):
            try confirm(id, in: txn)
            return .confirmed
        case .release(let id):
            try release(id, in: txn)
            return .released
        case .refund(let request):
            return .refunded(try refund(request, in: txn))
        case .setCardLimits(let change):
            return .cardLimitsSet(try setCardLimits(change, card: card!, in: txn))
        case .clearCardLimits(let number, let institution, let name):
            return .cardLimitsCleared(removed: try clearCardLimits(number, card!, institution: institution, by: name, in: txn))
        case .reconcile(let line):
            return .reconciled(try reconcile(line, card: card, in: txn))
        case .verify(let id):
            return .verified(replayed: try verify(id, in: txn))
        case .signAgreement(let signing):
            return .agreementSigned(replayed: try signAgreement(signing, card: card!, in: txn))
        case .endAgreement(let ending):
            return .agreementEnded(replayed: try endAgreement(ending, in: txn))
        }
    }

    /// Runs `body` in a write transaction and commits it; when the map is full, grows it and
    /// runs `body` again in a new one (the failed attempt was aborted: it left nothing).
    func write<R>(applyingJournal: Bool = true, _ body: (borrowing StoreTransaction) throws(HeadroomError) -> R) throws(HeadroomError) -> R {
        try growingMap { () throws(HeadroomError) -> R in
            let txn = try store.beginWrite(applyingJournal: applyingJournal)
            let result = try body(txn)
            try txn.commit()
            return result
        }
    }
}
