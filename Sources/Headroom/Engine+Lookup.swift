import HeadroomCore

/// One payment (or refund) as the store holds it: what `headroom payment` shows. No card
/// number: the card is named by the start of its keyed hash.
public struct PaymentView: Sendable {
    /// One event of the payment's history.
    public struct Event: Sendable {
        /// `authorized`, `declined`, `confirmed`, `released`, `expired`, `refunded`, `reconciled`, `challenged`, `verified`.
        public let name: String
        /// Unix seconds, by the engine's clock when it happened.
        public let time: Int64
        /// Authorized or declined: the amount asked for; refunded: the refund's amount;
        /// reconciled: NetsUnion's amount.
        public let amountFen: Int64?
        /// Reconciled: the status, batch and correction (`00 in B202611250013: confirmed`).
        public let detail: String?
    }

    public let id: PaymentID
    /// `payment` or `refund`.
    public let kind: String
    /// Where it stands now.
    public let state: PaymentState
    /// The payment's own time.
    public let time: Timestamp
    /// Its amount, in fen (NetsUnion's, once reconciled).
    public let amountFen: Int64
    /// Refunded of it so far, in fen.
    public let refundedFen: Int64
    /// The version of the rule set that decided it.
    public let ruleSetVersion: UInt32
    /// The first answer (for a payment the bank never saw, recorded by reconciliation: an approval).
    public let decision: Decision
    /// When its hold ends (an authorized payment under a rule set with hold times).
    public let heldUntil: Int64?
    /// The first 8 hex digits of the card's keyed hash; `nil` when the record does not keep it.
    public let cardHashPrefix: String?
    /// The institution that sent it, when the record keeps it.
    public let institution: Institution?
    /// Its business type, when the record keeps it.
    public let business: Business?
    /// Its account class, when the record keeps it.
    public let accountClass: AccountClass?
    /// The windows it counts in (or counted in), as `bank.card-daily + card tier daily: 2026-11-25`.
    public let windows: [String]
    /// A refund's original payment.
    public let original: String?
    /// Its history, oldest first.
    public let events: [Event]
}

extension Engine {
    /// The payment (or refund) `id` on record, with its history; `nil` when unknown. A read: safe
    /// beside writers.
    public func payment(_ id: PaymentID) throws(HeadroomError) -> PaymentView? {
        let txn = try store.beginRead()
        guard let record = try store.record(txn, id: id.text) else { return nil }
        return view(id, record)
    }

    func view(_ id: PaymentID, _ record: PaymentRecord) -> PaymentView {
        let events = record.events.map { e -> PaymentView.Event in
            switch e.kind {
            case .refunded, .authorized, .declined, .challenged:
                return .init(name: e.kind.name, time: e.time, amountFen: e.amountFen, detail: nil)
            case .reconciled:
                let (status, correction) = e.reconciliation
                let text = "\(status?.code ?? "?") in \(ReconciliationBatch(number: e.extra))" + (correction.map { ": \($0.rawValue)" } ?? "")
                return .init(name: "reconciled", time: e.time, amountFen: e.amountFen, detail: text)
            default:
                return .init(name: e.kind.name, time: e.time, amountFen: nil, detail: nil)
            }
        }
        return PaymentView(
            id: id, kind: record.kind == .payment ? "payment" : "refund", state: record.state, time: record.time,
            amountFen: record.amountFen, refundedFen: record.refundedFen, ruleSetVersion: record.ruleSetVersion,
            decision: record.decision, heldUntil: record.heldUntil == 0 ? nil : record.heldUntil,
            cardHashPrefix: record.subject.map { String($0.card.description.prefix(8)) },
            institution: record.subject?.institution, business: record.subject?.business,
            accountClass: record.subject?.accountClass,
            windows: record.counters.compactMap { windowName($0.key) }, original: record.original, events: events)
    }

    /// `bank.card-daily + card tier daily: 2026-11-25`: the limits of the rule set in force that
    /// read the cell's counter (a counter no limit reads now by its identity), and its natural
    /// period; `nil` for a rolling bucket (a part of a window).
    func windowName(_ key: CounterKey) -> String? {
        let period: String
        switch key.kind {
        case .day: period = ChinaTime.dateString(day: Int32(key.window))
        case .month: period = "\(key.window / 12)-\(key.window % 12 + 1 < 10 ? "0" : "")\(key.window % 12 + 1)"
        case .year: period = "\(key.window)"
        case .minuteBucket, .hourBucket: return nil
        case .sinceSigning: period = "agreement signed \(Timestamp(unixSeconds: Int64(key.window) * 60 - 8 * 3600).chinaISO8601)"
        }
        var names = ruleSet.limits.filter { $0.counter?.id == key.definition }.map(\.id)
            + ruleSet.risk.filter { $0.counter?.id == key.definition }.map(\.id)
        if let card = ruleSet.cardTierCounters.firstIndex(where: { $0.id == key.definition }) {
            names.append(["card tier daily", "card tier monthly", "card tier at the institution daily", "card tier at the institution monthly"][card])
        }
        return "\(names.isEmpty ? "counter \(key.definition.hexDigits)" : names.joined(separator: " + ")): \(period)"
    }
}

/// A natural day's payments (by their own time, UTC+8): what `headroom report` shows.
public struct DayReport: Sendable {
    /// A count of payments and their amount.
    public struct Tally: Sendable, Equatable {
        /// Payments counted.
        public var count = 0
        /// Their amount, in fen.
        public var amountFen: Int64 = 0

        /// Nothing counted.
        public init() {}

        /// Counts one payment of `fen` fen.
        public mutating func add(_ fen: Int64) {
            count += 1
            amountFen += fen
        }
    }

    /// The day reported, as a day number (UTC+8).
    public let day: Int32
    /// Authorizations by first answer: `approve`, `decline`, `challenge`.
    public var byOutcome: [String: Tally] = [:]
    /// Declines and challenges by reason code.
    public var byReason: [String: Tally] = [:]
    /// Authorizations by institution and by business type.
    public var byInstitution: [String: Tally] = [:]
    /// Authorizations by business type.
    public var byBusiness: [String: Tally] = [:]
    /// Approved payments whose hold ran out unconfirmed.
    public var expired = Tally()
    /// Reconciliation's corrections of the day's payments, by kind (payments the bank never saw
    /// included), and those whose amount NetsUnion corrected.
    public var corrections: [String: Tally] = [:]
    /// Payments whose amount NetsUnion corrected; the amount is the sum of the differences.
    public var amountsCorrected = Tally()
}

extension Engine {
    /// The natural day `day`'s payments, read in one snapshot. Reads every record (payments are
    /// kept by id, not by day): minutes on a store of many days, and safe beside writers.
    public func report(day: Int32, progress: (Int) -> Void = { _ in }) throws(HeadroomError) -> DayReport {
        let txn = try store.beginRead()
        var report = DayReport(day: day)
        var read = 0
        try forEach(txn, .payments) { (_, value) throws(HeadroomError) in
            read += 1
            if read % 100_000 == 0 { progress(read) }
            guard let record = PaymentRecord(bytes: value) else { throw HeadroomError(.corrupted, "a payment record does not decode") }
            guard record.kind == .payment, record.time.chinaDay == day else { return }
            // The amount the front processor asked for (reconciliation may have corrected the record's).
            let asked = record.events.first { $0.kind == .authorized || $0.kind == .declined || $0.kind == .challenged }
            if asked != nil || record.events.isEmpty {
                let amount = asked?.amountFen ?? record.amountFen
                report.byOutcome[record.decision.outcome.name, default: .init()].add(amount)
                if record.decision.outcome != .approve { report.byReason[record.decision.code.name, default: .init()].add(amount) }
                if let subject = record.subject {
                    report.byInstitution[subject.institution.code, default: .init()].add(amount)
                    report.byBusiness[subject.business.name, default: .init()].add(amount)
                }
            }
            if record.events.contains(where: { $0.kind == .expired }) { report.expired.add(record.amountFen) }
            for event in record.events where event.kind == .reconciled {
                if let correction = event.reconciliation.correction {
                    report.corrections[correction.rawValue, default: .init()].add(event.amountFen)
                }
                if let asked, event.reconciliation.status?.counts == true, event.amountFen != asked.amountFen {
                    report.amountsCorrected.add(event.amountFen - asked.amountFen)
                }
            }
        }
        return report
    }
}
