import HeadroomCore

/// A refund of (part of) a confirmed payment. It has its own id, which is its idempotency key.
public struct RefundRequest: Sendable {
    public var id: PaymentID
    /// The confirmed payment refunded.
    public var original: PaymentID
    /// The amount refunded, at most what remains of the original.
    public var amount: Amount
    /// When the refund was made.
    public var time: Timestamp

    /// A refund from its fields.
    public init(id: PaymentID, original: PaymentID, amount: Amount, time: Timestamp) {
        self.id = id
        self.original = original
        self.amount = amount
        self.time = time
    }

    var fingerprint: UInt64 {
        var h = FNV1a()
        h.add("refund")
        h.add(id.text)
        h.add(original.text)
        h.add(UInt64(bitPattern: amount.fen))
        h.add(UInt64(bitPattern: time.unixSeconds))
        return h.value
    }
}

/// The answer to an authorization.
public struct AuthorizeResult: Sendable, Equatable {
    /// The decision: the first one, for a retried id.
    public let decision: Decision
    /// `true` when the id was seen before: this is the first answer again, and nothing counted.
    public let replayed: Bool
    /// For a challenged payment, when its challenge hold ends (unix seconds, engine clock):
    /// verify it before then, or its reservation is given back. `nil` otherwise (also for a
    /// retried id whose challenge was verified, released or expired since).
    public let challengeEnds: Int64?

    /// An answer as the engine gives it.
    public init(decision: Decision, replayed: Bool, challengeEnds: Int64? = nil) {
        self.decision = decision
        self.replayed = replayed
        self.challengeEnds = challengeEnds
    }
}

/// The answer to a refund.
public struct RefundResult: Sendable, Equatable {
    public let id: PaymentID
    /// The original payment.
    public let original: PaymentID
    /// This refund's amount.
    public let amount: Amount
    /// Everything refunded of the original so far, this refund included.
    public let refundedTotalFen: Int64
    /// What may still be refunded.
    public let remainingFen: Int64
    /// True when the refund id was applied before: this is its first answer again.
    public let replayed: Bool
}
