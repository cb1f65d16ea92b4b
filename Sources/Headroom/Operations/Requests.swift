import HeadroomCore

/// A refund of (part of) a confirmed payment. It has its own id, which is its idempotency key.
public struct RefundRequest: Sendable {
    public var id: PaymentID
    public var original: PaymentID
    public var amount: Amount
    public var time: Timestamp

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
    public let decision: Decision
    /// `true` when the id was seen before: this is the first answer again, and nothing counted.
    public let replayed: Bool
}

/// The answer to a refund.
public struct RefundResult: Sendable, Equatable {
    public let id: PaymentID
    public let original: PaymentID
    public let amount: Amount
    /// Everything refunded of the original so far, this refund included.
    public let refundedTotalFen: Int64
    /// What may still be refunded.
    public let remainingFen: Int64
    public let replayed: Bool
}
