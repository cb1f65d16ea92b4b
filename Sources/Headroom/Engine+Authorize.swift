import HeadroomCore
import LMDBKit

extension Engine {
    /// Authorizes a payment whose card is already hashed (group commit hashes on the caller's
    /// thread, sparing the writer), inside the caller's write transaction (see
    /// ``PaymentLifecycle/authorize(_:)``).
    func authorize(_ payment: Payment, in txn: borrowing StoreTransaction) throws(HeadroomError) -> AuthorizeResult {
        var payment = payment
        guard payment.business != .refund else {
            throw HeadroomError(.invalidInput, "\(payment.id): a refund is not authorized: send it as a refund of its original")
        }
        if let existing = try previous(txn, payment.id, .payment, fingerprint: payment.fingerprint) {
            return AuthorizeResult(decision: existing.decision, replayed: true, challengeEnds: existing.challengeEnds)
        }
        keyIdentifiers(&payment)
        // The plan and usage buffers are the engine's, borrowed for this payment and given back
        // (with their capacity) after it: planning and checking allocate nothing.
        var plan = Plan()
        var usage: [CounterValue] = []
        var riskUsage: [CounterValue] = []
        swap(&plan, &planBuffer)
        swap(&usage, &usageBuffer)
        swap(&riskUsage, &riskUsageBuffer)
        defer {
            swap(&plan, &planBuffer)
            swap(&usage, &usageBuffer)
            swap(&riskUsage, &riskUsageBuffer)
        }
        try evaluate(txn, payment, rules: ruleSet, into: &plan, &usage, &riskUsage)
        let decision = decide(amountFen: payment.amount.fen, plan: plan, usage: usage, riskUsage: riskUsage, rules: ruleSet,
                              ruleSetVersion: ruleSetVersion)
        // The shadow set judges the same state, before any of this payment's writes.
        let shadowCells = try shadow.map { (s) throws(HeadroomError) in try judgeInShadow(payment, s, live: decision, plan, in: txn) } ?? []
        for key in plan.attempts {
            // An attempt counts whatever the answer; a cell a check just read is not read again.
            let known = plan.riskChecks.indices.first { plan.riskChecks[$0].counter == key && plan.riskChecks[$0].buckets == 1 }
            try store.add(txn, key, amountFen: payment.amount.fen, count: 1, current: known.map { riskUsage[$0] })
        }
        if decision.reserves {
            for update in plan.updates {
                // A cell a check just read (one bucket) is not read again.
                let known = plan.checks.indices.first { plan.checks[$0].counter == update.key && plan.checks[$0].window.bucketCount == 1 }
                try store.add(txn, update.key, amountFen: payment.amount.fen, count: 1, current: known.map { usage[$0] })
            }
        }
        // Held for the rule set's hold time from now (engine clock), indexed by when it ends; a
        // challenged payment for the challenge hold (required by the rules when a rule challenges).
        let hold: Int64? = switch decision.outcome {
        case .approve: ruleSet.holds?.seconds(for: payment.business, accountType: payment.accountType)
        case .challenge: ruleSet.holds?.challengeSeconds
        case .decline: nil
        }
        let heldUntil = hold.map { now + $0 } ?? 0
        let state: PaymentState = switch decision.outcome {
        case .approve: .authorized
        case .challenge: .challenged
        case .decline: .declined
        }
        eventsBuffer.removeAll(keepingCapacity: true)  // unique again: the last record is gone
        eventsBuffer.append(.init(kind: state == .authorized ? .authorized : state == .challenged ? .challenged : .declined,
                                  time: now, amountFen: payment.amount.fen))
        let record = PaymentRecord(
            kind: .payment, state: state, fingerprint: payment.fingerprint,
            time: payment.time, amountFen: payment.amount.fen, refundedFen: 0, ruleSetVersion: ruleSetVersion,
            heldUntil: heldUntil, subject: .init(payment), decision: decision,
            counters: cells(decision, plan, shadowCells), original: nil, events: eventsBuffer)
        try store.put(txn, id: payment.id.text, record)
        if heldUntil != 0 { try store.putExpiry(txn, due: heldUntil, id: payment.id.text) }
        return AuthorizeResult(decision: decision, replayed: false, challengeEnds: record.challengeEnds)
    }

    /// The cells a payment's record names: those it reserved on (given back as it is settled)
    /// and those that counted its attempt (never given back), and a shadow's own. Without
    /// attempts or a shadow, the plan's own array; else the engine's buffer, refilled (unique
    /// again once the last record is gone: no allocation once it has grown).
    private func cells(_ decision: Decision, _ plan: Plan, _ shadowCells: [CounterUpdate]) -> [CounterUpdate] {
        if plan.attempts.isEmpty && shadowCells.isEmpty { return decision.reserves ? plan.updates : [] }
        cellsBuffer.removeAll(keepingCapacity: true)
        if decision.reserves { cellsBuffer.append(contentsOf: plan.updates) }
        for key in plan.attempts { cellsBuffer.append(CounterUpdate(key: key, refundRestores: false, countsAttempts: true)) }
        cellsBuffer.append(contentsOf: shadowCells)
        return cellsBuffer
    }

    /// The decision `request` would get now, with every limit and risk rule that applied,
    /// changing nothing.
    ///
    /// Safe from any thread, also while the engine writes (under a ``GroupCommitter``): one read
    /// transaction, a consistent snapshot that waits for no writer, and no engine state touched
    /// (the rule set in force is looked up in the snapshot and parsed once per version). This is
    /// what `headroom usage` and `headroom explain` show.
    public func explain(_ request: PaymentRequest) throws(HeadroomError) -> Explanation {
        var payment = hashed(request)
        keyIdentifiers(&payment, always: true)  // not by the writer's rule set: another thread's
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
        let (plan, usage, riskUsage) = try evaluate(txn, payment, rules: rules)
        return Self.explanation(payment, plan, usage, riskUsage, rules: rules, ruleSetVersion: version)
    }

    /// The decision and every checked limit with what its window held.
    static func explanation(_ payment: Payment, _ plan: Plan, _ usage: [CounterValue], _ riskUsage: [CounterValue],
                            rules: RuleSet, ruleSetVersion: UInt32) -> Explanation {
        let decision = decide(amountFen: payment.amount.fen, plan: plan, usage: usage, riskUsage: riskUsage, rules: rules,
                              ruleSetVersion: ruleSetVersion)
        let lines = zip(plan.checks, usage).map { check, used in
            Explanation.Line(check: check, used: check.counter == nil ? .zero : used)
        }
        let risk = plan.riskHits.map { Explanation.RiskLine(rule: rules.risk[$0], used: nil) }
            + zip(plan.riskChecks, riskUsage).map { Explanation.RiskLine(rule: rules.risk[$0.rule], used: $1) }
        return Explanation(decision: decision, lines: lines, risk: risk)
    }

    func hashed(_ request: PaymentRequest) -> Payment {
        request.withCard(cardKey.hash(request.card))
    }

    /// The plan for a payment and what each checked window held before it.
    func evaluate(_ txn: borrowing StoreTransaction, _ payment: Payment,
                  rules: RuleSet? = nil) throws(HeadroomError) -> (Plan, [CounterValue], [CounterValue]) {
        var plan = Plan()
        var usage: [CounterValue] = []
        var riskUsage: [CounterValue] = []
        try evaluate(txn, payment, rules: rules ?? ruleSet, into: &plan, &usage, &riskUsage)
        return (plan, usage, riskUsage)
    }

    /// ``evaluate(_:_:rules:)`` into buffers the caller lends (emptied, then filled).
    func evaluate(_ txn: borrowing StoreTransaction, _ payment: Payment, rules: RuleSet,
                  into plan: inout Plan, _ usage: inout [CounterValue], _ riskUsage: inout [CounterValue]) throws(HeadroomError) {
        let cardLimits = try store.cardLimits(txn, payment.card, nil)
        let cardInstitutionLimits = try store.cardLimits(txn, payment.card, payment.institution)
        let facts = rules.risk.isEmpty ? RiskFacts.none : try riskFacts(txn, payment, rules)
        rules.plan(for: payment, cardLimits: cardLimits, cardInstitutionLimits: cardInstitutionLimits, risk: facts, into: &plan)
        riskUsage.removeAll(keepingCapacity: true)
        riskUsage.reserveCapacity(plan.riskChecks.count)
        for check in plan.riskChecks {
            riskUsage.append(try store.usage(txn, check.counter, buckets: check.buckets))
        }
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

    /// One risk rule that matched a payment (a list, an ended agreement) or checked it (a
    /// velocity or new-agreement cap), and what its window held.
    public struct RiskLine: Sendable, Equatable {
        /// The rule.
        public let rule: RiskRule
        /// What its window held before the payment (`nil` for a rule that matched outright).
        public let used: CounterValue?
    }

    /// The risk rules that matched or checked the payment, in the rule files' order (matches first).
    public let risk: [RiskLine]
}
