import HeadroomCore

/// A payment to authorize, as the front processor has it: the clear card number is hashed by
/// the engine with the operator's key and never stored.
public struct PaymentRequest: Sendable {
    public var id: PaymentID
    public var time: Timestamp
    public var card: CardNumber
    public var institution: Institution
    public var business: Business
    public var amount: Amount
    public var accountClass: AccountClass
    public var channel: Channel?
    public var accountType: AccountType?
    public var agreementID: String?
    public var merchantID: String?

    public init(
        id: PaymentID, time: Timestamp, card: CardNumber, institution: Institution, business: Business,
        amount: Amount, accountClass: AccountClass, channel: Channel? = nil, accountType: AccountType? = nil,
        agreementID: String? = nil, merchantID: String? = nil
    ) {
        self.id = id
        self.time = time
        self.card = card
        self.institution = institution
        self.business = business
        self.amount = amount
        self.accountClass = accountClass
        self.channel = channel
        self.accountType = accountType
        self.agreementID = agreementID
        self.merchantID = merchantID
    }
}

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

/// The four operations of a payment's life, answered by an ``Engine`` (one transaction each)
/// and by a ``GroupCommitter`` (batched): code that drives either takes this.
public protocol PaymentLifecycle {
    func authorize(_ request: PaymentRequest) throws(HeadroomError) -> AuthorizeResult
    func confirm(_ id: PaymentID) throws(HeadroomError)
    func release(_ id: PaymentID) throws(HeadroomError)
    func refund(_ request: RefundRequest) throws(HeadroomError) -> RefundResult
}

extension Engine: PaymentLifecycle {}
extension GroupCommitter: PaymentLifecycle {}
