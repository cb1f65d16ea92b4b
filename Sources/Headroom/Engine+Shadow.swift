import HeadroomCore

/// One way a shadow rule set answered differently from the live one (``RuleBook/shadowReport(_:)``).
public struct ShadowDifference: Sendable, Equatable {
    /// The rule that made the difference: the shadow's deciding rule, or (where the shadow
    /// approved) the live rule it would not have applied.
    public let rule: String
    /// What the rule set in force answered.
    public let live: Decision.Outcome
    /// What the shadow would have answered.
    public let shadow: Decision.Outcome
    /// How many payments.
    public let count: Int
    /// Up to five of their ids, the first seen.
    public let samples: [String]
}

/// What a shadow rule set would have changed (``RuleBook/shadowReport(_:)``).
public struct ShadowReport: Sendable, Equatable {
    /// The version shadowed.
    public let version: UInt32
    /// How many authorizations it judged.
    public let judged: Int
    /// Its differences from the rule set in force, by rule and answer.
    public let differences: [ShadowDifference]
}

extension Engine {
    static let shadowSamplesMax = 5

    /// Judges `payment` by the shadow rule set too (never changing the live answer): records
    /// the difference when there is one, and answers the shadow's own cells (those no live rule
    /// counts) to add as the live traffic feeds them: its attempts always, its reservations when
    /// the live answer reserves. They are named in the record, so they are given back as the
    /// payment settles.
    func judgeInShadow(_ payment: Payment, _ shadow: (version: UInt32, rules: RuleSet), live: Decision, _ livePlan: Plan,
                       in txn: borrowing StoreTransaction) throws(HeadroomError) -> [CounterUpdate] {
        let (plan, usage, riskUsage) = try evaluate(txn, payment, rules: shadow.rules)
        let judged = decide(amountFen: payment.amount.fen, plan: plan, usage: usage, riskUsage: riskUsage, rules: shadow.rules,
                            ruleSetVersion: shadow.version)
        try tally(shadow.version, "judged", id: nil, in: txn)
        if judged.outcome != live.outcome || judged.decidedBy?.ruleID != live.decidedBy?.ruleID {
            let rule = judged.decidedBy?.ruleID ?? live.decidedBy?.ruleID ?? "-"
            try tally(shadow.version, "diff|\(rule)|\(live.outcome.name)|\(judged.outcome.name)", id: payment.id.text, in: txn)
        }
        var own: [CounterUpdate] = []
        for key in plan.attempts where !livePlan.attempts.contains(key) {
            try store.add(txn, key, amountFen: payment.amount.fen, count: 1)
            own.append(CounterUpdate(key: key, refundRestores: false, countsAttempts: true))
        }
        if live.reserves {
            for update in plan.updates where !livePlan.updates.contains(where: { $0.key == update.key }) {
                try store.add(txn, update.key, amountFen: payment.amount.fen, count: 1)
                own.append(update)
            }
        }
        return own
    }

    /// Adds one to a shadow tally (`shadow.v<N>.<name>`: a count, then up to five sample ids).
    private func tally(_ version: UInt32, _ name: String, id: String?, in txn: borrowing StoreTransaction) throws(HeadroomError) {
        var (count, samples): (UInt64, [String]) = (0, [])
        if let found = try store.meta(txn, .shadowTally(version, name)) {
            guard let tally = Self.decodeTally(found) else { throw HeadroomError(.corrupted, "a shadow tally does not decode") }
            (count, samples) = tally
        }
        if let id, samples.count < Self.shadowSamplesMax { samples.append(id) }
        var w = ByteWriter()
        w.u64(count + 1)
        for sample in samples { w.string(sample) }
        try store.putMeta(txn, .shadowTally(version, name), w.bytes)
    }

    static func decodeTally(_ bytes: UnsafeRawBufferPointer) -> (count: UInt64, samples: [String])? {
        var r = ByteReader(bytes)
        guard let n = r.u64() else { return nil }
        var samples: [String] = []
        while !r.isAtEnd {
            guard let sample = r.string() else { return nil }
            samples.append(sample)
        }
        return (n, samples)
    }
}
