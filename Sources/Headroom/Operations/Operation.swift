import HeadroomCore

/// Everything that changes a store's payments and card limits, as one value: what the engine
/// performs (``Engine/perform(_:)``, one transaction), what a ``GroupCommitter`` queues and
/// batches, what a journal's entry was made from, and what a replay line decodes to.
///
/// Adding an operation is one case here (and in ``Answer`` when it answers something new),
/// its handler in `Engine.perform(_:card:in:)`, and its codec entry in HeadroomReplay
/// (decision 0014). Convenience methods (``PaymentLifecycle/authorize(_:)``) are optional.
public enum EngineOperation: Sendable {
    /// Check every limit and, when all hold, reserve the amount (``Engine`` authorize).
    case authorize(PaymentRequest)
    /// The core debit succeeded: the reservation stays, confirmed.
    case confirm(PaymentID)
    /// The core debit failed or timed out: the reservation is given back.
    case release(PaymentID)
    /// Refund part or all of a confirmed payment.
    case refund(RefundRequest)
    /// Set a customer's own limits for a card (all institutions, or one).
    case setCardLimits(CardLimitChange)
    /// Remove a customer's own limits for a card.
    case clearCardLimits(card: CardNumber, institution: Institution?, by: String)
    /// Apply NetsUnion's final word on one transaction (对账), exactly once.
    case reconcile(ReconciliationLine)
    /// The customer passed a challenge's step-up: the payment is approved.
    case verify(PaymentID)
    /// An agreement or entrusted mandate was signed.
    case signAgreement(AgreementSigning)
    /// An agreement was ended (解约).
    case endAgreement(AgreementEnding)

    /// The operation's name, as replay lines and answers write it.
    public var name: String { Self.kinds[kind] }

    /// Every operation's name, in the order of ``kind``.
    static let kinds = ["authorize", "confirm", "release", "refund", "set-card-limits", "clear-card-limits", "reconcile",
                        "verify", "sign-agreement", "end-agreement"]

    /// The operation's place in ``kinds``: an index, for handles made once per kind.
    var kind: Int {
        switch self {
        case .authorize: 0
        case .confirm: 1
        case .release: 2
        case .refund: 3
        case .setCardLimits: 4
        case .clearCardLimits: 5
        case .reconcile: 6
        case .verify: 7
        case .signAgreement: 8
        case .endAgreement: 9
        }
    }

    /// The payment id it concerns, for the operations of a payment's life.
    public var id: PaymentID? {
        switch self {
        case .authorize(let request): request.id
        case .confirm(let id), .release(let id), .verify(let id): id
        case .refund(let request): request.id
        case .reconcile(let line): line.id
        case .setCardLimits, .clearCardLimits, .signAgreement, .endAgreement: nil
        }
    }

    /// The clear card number it carries, if any: hashed before the operation reaches the
    /// writer (on the caller's thread, under group commit), and never kept.
    var card: CardNumber? {
        switch self {
        case .authorize(let request): request.card
        case .setCardLimits(let change): change.card
        case .clearCardLimits(let card, _, _): card
        case .reconcile(let line): line.unseen?.card
        case .signAgreement(let signing): signing.card
        case .confirm, .release, .refund, .verify, .endAgreement: nil
        }
    }
}

/// A change to a card's own limits: the fields given replace those set before, the others stay.
public struct CardLimitChange: Sendable {
    /// The card whose limits change; hashed, never kept.
    public var card: CardNumber
    /// `nil` for all institutions.
    public var institution: Institution?
    /// The limits set; those not given keep their value.
    public var limits: CardLimits
    /// The operator making the change, for the audit log.
    public var by: String

    /// A change from its fields.
    public init(card: CardNumber, institution: Institution?, limits: CardLimits, by: String) {
        self.card = card
        self.institution = institution
        self.limits = limits
        self.by = by
    }
}

/// What an ``EngineOperation`` answers.
public enum Answer: Sendable, Equatable {
    /// An authorization's decision.
    case authorized(AuthorizeResult)
    /// The payment is confirmed.
    case confirmed
    /// The reservation was given back.
    case released
    /// A refund's result.
    case refunded(RefundResult)
    /// The card's limits after the change.
    case cardLimitsSet(CardLimits)
    /// Whether there were limits to remove.
    case cardLimitsCleared(removed: Bool)
    /// What reconciling one line did.
    case reconciled(ReconcileResult)
    /// A challenged payment is approved (`replayed`: it was verified before).
    case verified(replayed: Bool)
    /// The agreement is on record (`replayed`: it was already).
    case agreementSigned(replayed: Bool)
    /// The agreement is on record as ended (`replayed`: it was already).
    case agreementEnded(replayed: Bool)
}

/// What performs operations: an ``Engine`` (one transaction each) or a ``GroupCommitter``
/// (batched). Code that drives either takes this.
public protocol PaymentLifecycle {
    /// Performs `operation` and answers once it is durable.
    func perform(_ operation: EngineOperation) throws(HeadroomError) -> Answer
}

extension PaymentLifecycle {
    /// Checks every applicable limit and, when all hold, reserves the amount on every counter,
    /// in one transaction; answers only once it is durable. The same id again gets the first
    /// answer and counts nothing; the same id with other content is refused with `idConflict`.
    /// - Throws: `idConflict`, `invalidInput` (a refund sent as a payment), `counterOverflow`,
    ///   `storage`, `corrupted`.
    public func authorize(_ request: PaymentRequest) throws(HeadroomError) -> AuthorizeResult {
        guard case .authorized(let result) = try perform(.authorize(request)) else { preconditionFailure("wrong answer") }
        return result
    }

    /// The core debit succeeded: the reservation stays, now confirmed.
    /// - Throws: `unknownPayment`, `notApproved` (declined), `alreadyConfirmed`, `alreadyReleased`,
    ///   `expired` (its hold time ran out), `reversed` (reconciliation said it failed).
    public func confirm(_ id: PaymentID) throws(HeadroomError) { _ = try perform(.confirm(id)) }

    /// The core debit failed or timed out: the reservation is given back to the windows it
    /// was taken from, even when they have closed since.
    /// - Throws: `unknownPayment`, `notApproved`, `alreadyConfirmed` (refund it instead), `alreadyReleased`,
    ///   `expired` (given back already), `reversed`.
    public func release(_ id: PaymentID) throws(HeadroomError) { _ = try perform(.release(id)) }

    /// Approves a challenged payment once the customer passed the step-up.
    /// - Returns: `true` when it was verified before (nothing changed).
    @discardableResult
    public func verify(_ id: PaymentID) throws(HeadroomError) -> Bool {
        guard case .verified(let replayed) = try perform(.verify(id)) else { preconditionFailure("wrong answer") }
        return replayed
    }

    /// Records a signed agreement. - Returns: `true` when it was on record already.
    @discardableResult
    public func signAgreement(_ signing: AgreementSigning) throws(HeadroomError) -> Bool {
        guard case .agreementSigned(let replayed) = try perform(.signAgreement(signing)) else { preconditionFailure("wrong answer") }
        return replayed
    }

    /// Records an ended agreement. - Returns: `true` when it was on record as ended already.
    @discardableResult
    public func endAgreement(_ ending: AgreementEnding) throws(HeadroomError) -> Bool {
        guard case .agreementEnded(let replayed) = try perform(.endAgreement(ending)) else { preconditionFailure("wrong answer") }
        return replayed
    }

    /// Refunds part or all of a confirmed payment. Counters whose limits say `refund_restores`
    /// get the amount back in the original payment's window (and its count once the payment is
    /// refunded in full); the others keep it.
    /// - Throws: `idConflict`, `unknownPayment`, `notAPayment`, `notApproved`, `notConfirmed`,
    ///   `alreadyReleased`, `expired`, `reversed`, `refundExceedsRemaining`.
    public func refund(_ request: RefundRequest) throws(HeadroomError) -> RefundResult {
        guard case .refunded(let result) = try perform(.refund(request)) else { preconditionFailure("wrong answer") }
        return result
    }

    /// Applies NetsUnion's final status for one transaction (see ``ReconcileResult/Correction``).
    /// The same line again changes nothing.
    /// - Throws: `reconcileConflict` for a line that contradicts one applied before (another
    ///   status or amount), names another institution, or cannot be counted; `notAPayment`;
    ///   `invalidInput` for a payment the bank never saw, succeeded, without its card.
    public func reconcile(_ line: ReconciliationLine) throws(HeadroomError) -> ReconcileResult {
        guard case .reconciled(let result) = try perform(.reconcile(line)) else { preconditionFailure("wrong answer") }
        return result
    }

    /// Sets a customer's own limits for a card; answers the card's limits after the change.
    /// - Throws: `cardLimitAboveBank` when a value is above the bank's or the institution's
    ///   limit for the same window (the message names it); `invalidInput` for a bad operator name.
    @discardableResult
    public func setCardLimits(_ card: CardNumber, institution: Institution?, _ limits: CardLimits, by name: String) throws(HeadroomError) -> CardLimits {
        let change = CardLimitChange(card: card, institution: institution, limits: limits, by: name)
        guard case .cardLimitsSet(let merged) = try perform(.setCardLimits(change)) else { preconditionFailure("wrong answer") }
        return merged
    }

    /// Removes the customer's own limits for a card; answers whether there were any.
    @discardableResult
    public func clearCardLimits(_ card: CardNumber, institution: Institution?, by name: String) throws(HeadroomError) -> Bool {
        guard case .cardLimitsCleared(let removed) = try perform(.clearCardLimits(card: card, institution: institution, by: name)) else {
            preconditionFailure("wrong answer")
        }
        return removed
    }
}
