import HeadroomCore

/// Expiry (decision 0015): an authorized payment holds its reservation for its hold time (the
/// rule set's `holds`, by business and account type), counted from when the engine took it.
/// The `expiry` table indexes held payments by due time; every write transaction first gives
/// back what is due, at most ``Engine/Options/expiriesPerTransaction`` of them, oldest first.
extension Engine {
    /// Starts a write transaction's work: takes up the rule set in force, reads the clock, and
    /// expires what is due. Every write transaction that runs operations begins here (the
    /// engine's own, each group-commit batch, each journaled batch).
    /// - Returns: how many reservations it expired.
    @discardableResult
    func begin(_ txn: borrowing StoreTransaction) throws(HeadroomError) -> Int {
        try refreshRules(txn)
        now = options.clock()
        return try expireDue(txn, limit: options.expiriesPerTransaction)
    }

    /// Expires up to `limit` reservations due by ``now``, oldest first; answers how many.
    func expireDue(_ txn: borrowing StoreTransaction, limit: Int) throws(HeadroomError) -> Int {
        let due = try store.dueExpiries(txn, now: now, limit: limit)
        if due.isEmpty { return 0 }
        let purgedBefore = try purgeHorizon(txn)
        for (time, id) in due {
            try store.deleteExpiry(txn, due: time, id: id)
            guard var record = try store.record(txn, id: id), record.kind == .payment, record.state == .authorized || record.state == .challenged,
                  record.heldUntil == time else {
                throw HeadroomError(.corrupted, "the expiry index names \(id) due at \(time), and its record does not hold a reservation then")
            }
            for update in record.counters where !update.countsAttempts {
                let held = record.held(on: update)
                try adjust(txn, update.key, amountFen: -held.amountFen, count: -held.count, purgedBefore: purgedBefore)
            }
            record.state = .expired
            record.heldUntil = 0
            record.events.append(.init(kind: .expired, time: time))  // when its hold ended
            try store.put(txn, id: id, record)
        }
        return due.count
    }

    /// Expires every reservation due now, in transactions of at most
    /// ``Options/expiriesPerTransaction``: what an engine does on opening, and `headroom expire`.
    /// - Returns: how many it expired.
    @discardableResult
    public func expireAllDue() throws(HeadroomError) -> Int {
        var total = 0
        while true {
            let expired = try write { (txn) throws(HeadroomError) in try begin(txn) }
            total += expired
            if expired < options.expiriesPerTransaction { return total }
        }
    }

    /// What the expiry index holds: reservations waiting for their hold to end, and the
    /// earliest end (unix seconds).
    public func heldReservations() throws(HeadroomError) -> (count: Int, earliest: Int64?) {
        let txn = try store.beginRead()
        return try store.expiryFacts(txn)
    }

    /// Refuses a confirm or release of a payment whose hold has run out (given back by now, or
    /// being given back: the answer depends on the clock, not on how far expiry has got).
    func requireHeld(_ heldUntil: Int64, _ id: PaymentID) throws(HeadroomError) {
        if heldUntil != 0 && heldUntil <= now {
            throw HeadroomError(.expired, "\(id) held its reservation until \(Timestamp(unixSeconds: heldUntil).chinaISO8601): it has expired, and reconciliation settles it")
        }
    }
}
