import HeadroomCore
import LMDBKit

extension Engine {
    /// Authorizes a payment whose card is already hashed (group commit hashes on the caller's
    /// thread, sparing the writer), inside the caller's write transaction (see
    /// ``PaymentLifecycle/authorize(_:)``).
    func authorize(_ payment: Payment, in txn: borrowing StoreTransaction) throws(HeadroomError) -> AuthorizeResult {
        guard payment.business != .refund else {
            throw HeadroomError(.invalidInput, "\(payment.id): a refund is not authorized: send it as a refund of its original")
        }
        if let existing = try previous(txn, payment.id, .payment, fingerprint: payment.fingerprint) {
            return AuthorizeResult(decision: existing.decision, replayed: true)
        }
        // The plan and usage buffers are the engine's, borrowed for this payment and given back
        // (with their capacity) after it: planning and checking allocate nothing.
        var plan = Plan()
        var usage: [CounterValue] = []
        swap(&plan, &planBuffer)
        swap(&usage, &usageBuffer)
        defer {
            swap(&plan, &planBuffer)
            swap(&usage, &usageBuffer)
        }
        try evaluate(txn, payment, rules: ruleSet, into: &plan, &usage)
        let decision = decide(amountFen: payment.amount.fen, checks: plan.checks, usage: usage, ruleSetVersion: ruleSetVersion)
        if decision.isApproved {
            for update in plan.updates {
                // A cell a check just read (one bucket) is not read again.
                let known = plan.checks.indices.first { plan.checks[$0].counter == update.key && plan.checks[$0].window.bucketCount == 1 }
                try store.add(txn, update.key, amountFen: payment.amount.fen, count: 1, current: known.map { usage[$0] })
            }
        }
        // Held for the rule set's hold time from now (engine clock), indexed by when it ends.
        let hold = decision.isApproved ? ruleSet.holds?.seconds(for: payment.business, accountType: payment.accountType) : nil
        let heldUntil = hold.map { now + $0 } ?? 0
        eventsBuffer.removeAll(keepingCapacity: true)  // unique again: the last record is gone
        eventsBuffer.append(.init(kind: decision.isApproved ? .authorized : .declined, time: now, amountFen: payment.amount.fen))
        let record = PaymentRecord(
            kind: .payment, state: decision.isApproved ? .authorized : .declined, fingerprint: payment.fingerprint,
            time: payment.time, amountFen: payment.amount.fen, refundedFen: 0, ruleSetVersion: ruleSetVersion,
            heldUntil: heldUntil, subject: .init(payment), decision: decision,
            counters: decision.isApproved ? plan.updates : [], original: nil, events: eventsBuffer)
        try store.put(txn, id: payment.id.text, record)
        if heldUntil != 0 { try store.putExpiry(txn, due: heldUntil, id: payment.id.text) }
        return AuthorizeResult(decision: decision, replayed: false)
    }

    /// The decision `request` would get now, with every limit that applied, changing nothing.
    ///
    /// Safe from any thread, also while the engine writes (under a ``GroupCommitter``): one read
    /// transaction, a consistent snapshot that waits for no writer, and no engine state touched
    /// (the rule set in force is looked up in the snapshot and parsed once per version). This is
    /// what `headroom usage` and `headroom explain` show.
    public func explain(_ request: PaymentRequest) throws(HeadroomError) -> Explanation {
        let payment = hashed(request)
        let txn = try store.beginRead()
        guard let version = try RuleSetHistory.activateIfDue(store, txn, now: options.clock) else {
            throw HeadroomError(.noRuleSet, "the store has no rule set")
        }
        let rules: RuleSet
        if let cached = ruleSetCache.withLock({ $0[version] }) {
            rules = cached
        } else {
            rules = try RuleSetHistory.load(store, txn, version: version)
            ruleSetCache.withLock { $0[version] = rules }
        }
        let (plan, usage) = try evaluate(txn, payment, rules: rules)
        return Self.explanation(payment, plan, usage, ruleSetVersion: version)
    }

    /// The decision and every checked limit with what its window held.
    static func explanation(_ payment: Payment, _ plan: Plan, _ usage: [CounterValue], ruleSetVersion: UInt32) -> Explanation {
        let decision = decide(amountFen: payment.amount.fen, checks: plan.checks, usage: usage, ruleSetVersion: ruleSetVersion)
        let lines = zip(plan.checks, usage).map { check, used in
            Explanation.Line(check: check, used: check.counter == nil ? .zero : used)
        }
        return Explanation(decision: decision, lines: lines)
    }

    func hashed(_ request: PaymentRequest) -> Payment {
        request.withCard(cardKey.hash(request.card))
    }

    /// The plan for a payment and what each checked window held before it.
    func evaluate(_ txn: borrowing StoreTransaction, _ payment: Payment, rules: RuleSet? = nil) throws(HeadroomError) -> (Plan, [CounterValue]) {
        var plan = Plan()
        var usage: [CounterValue] = []
        try evaluate(txn, payment, rules: rules ?? ruleSet, into: &plan, &usage)
        return (plan, usage)
    }

    /// ``evaluate(_:_:rules:)`` into buffers the caller lends (emptied, then filled).
    func evaluate(_ txn: borrowing StoreTransaction, _ payment: Payment, rules: RuleSet,
                  into plan: inout Plan, _ usage: inout [CounterValue]) throws(HeadroomError) {
        let cardLimits = try store.cardLimits(txn, payment.card, nil)
        let cardInstitutionLimits = try store.cardLimits(txn, payment.card, payment.institution)
        rules.plan(for: payment, cardLimits: cardLimits, cardInstitutionLimits: cardInstitutionLimits, into: &plan)
        usage.removeAll(keepingCapacity: true)
        usage.reserveCapacity(plan.checks.count)
        for check in plan.checks {
            guard let key = check.counter else {
                usage.append(.zero)
                continue
            }
            usage.append(try store.usage(txn, key, buckets: check.window.bucketCount))
        }
    }
}

/// Every limit that applied to a payment, with its window's use and the decision.
public struct Explanation: Sendable {
    /// One limit that applied, and what its window held.
    public struct Line: Sendable, Equatable {
        /// The limit, its caps and the cell it read.
        public let check: Check
        /// What the window held before the payment (zero for a single-payment cap).
        public let used: CounterValue
    }

    /// The decision the payment would get now.
    public let decision: Decision
    /// Every limit that applied, in evaluation order.
    public let lines: [Line]
}
