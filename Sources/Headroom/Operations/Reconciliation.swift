import HeadroomCore

/// A NetsUnion reconciliation batch (对账批次): `B`, the natural day `yyyyMMdd` (UTC+8) and a
/// 4-digit sequence, 13 characters; one batch an hour.
public struct ReconciliationBatch: Hashable, Sendable, CustomStringConvertible {
    /// The batch id, e.g. `B202611250013`.
    public let text: String

    /// A text that is not a batch id, with why.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Parses a batch id: `B`, the day as `yyyyMMdd` and 4 digits.
    public init(_ text: String) throws(ParseError) {
        let bytes = Array(text.utf8)
        guard bytes.count == 13, bytes[0] == UInt8(ascii: "B"), bytes.dropFirst().allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            throw ParseError(description: "\"\(text)\" is not a batch id: B, the day as yyyyMMdd and 4 digits (B202611250013)")
        }
        let day = String(decoding: bytes[1...8], as: UTF8.self)
        guard ChinaTime.day(date: "\(day.prefix(4))-\(day.dropFirst(4).prefix(2))-\(day.suffix(2))") != nil else {
            throw ParseError(description: "\"\(text)\" names no real day (\(day))")
        }
        self.text = text
    }

    /// The 12 digits as a number, as payment histories store it.
    public var number: Int64 { Int64(text.dropFirst())! }

    /// The batch whose 12 digits are `number` (read back from a history).
    init(number: Int64) {
        let digits = String(number)
        text = "B" + String(repeating: "0", count: max(0, 12 - digits.count)) + digits
    }

    public var description: String { text }
}

/// A reconciliation line's final status (对账状态). NetsUnion's record wins.
public enum ReconciliationStatus: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// 00: it succeeded.
    case success = 0
    /// 01: it failed.
    case failure = 1
    /// 03: exception success: NetsUnion says it succeeded where the bank thought not.
    case exceptionSuccess = 3
    /// 04: exception failure.
    case exceptionFailure = 4

    /// Whether the payment counts (the money moved).
    public var counts: Bool { self == .success || self == .exceptionSuccess }

    /// `00`, `01`, `03`, `04`.
    public var code: String { "0\(rawValue)" }

    /// The status of a NetsUnion code (`00`, `01`, `03`, `04`); `nil` for another.
    public init?(code: String) {
        guard let found = Self.allCases.first(where: { $0.code == code }) else { return nil }
        self = found
    }

    public var description: String { code }
}

/// One transaction's line of a NetsUnion reconciliation file, as Headroom takes it (docs/reconciliation.md).
public struct ReconciliationLine: Sendable {
    /// What counting a payment the bank never saw takes, when the line carries it: the payer's
    /// card (hashed, never kept) and what the limits filter on.
    public struct Unseen: Sendable {
        /// The card; hashed, never kept.
        public var card: CardNumber
        /// The business type.
        public var business: Business
        /// The account class.
        public var accountClass: AccountClass
        /// The channel, when given.
        public var channel: Channel?
        /// The account type, when given.
        public var accountType: AccountType?

        /// What counting a payment the bank never saw takes.
        public init(card: CardNumber, business: Business, accountClass: AccountClass, channel: Channel? = nil, accountType: AccountType? = nil) {
            self.card = card
            self.business = business
            self.accountClass = accountClass
            self.channel = channel
            self.accountType = accountType
        }
    }

    public var id: PaymentID
    /// The batch the line came in.
    public var batch: ReconciliationBatch
    /// NetsUnion's final status.
    public var status: ReconciliationStatus
    /// NetsUnion's amount, which wins over the bank's.
    public var amount: Amount
    /// The transaction's time, as NetsUnion recorded it (the windows of a payment counted for
    /// the first time).
    public var time: Timestamp
    /// The institution that sent the payment.
    public var institution: Institution
    /// For a payment the bank has no record of: what counting it takes.
    public var unseen: Unseen?

    /// A line from its fields.
    public init(id: PaymentID, batch: ReconciliationBatch, status: ReconciliationStatus, amount: Amount, time: Timestamp,
                institution: Institution, unseen: Unseen? = nil) {
        self.id = id
        self.batch = batch
        self.status = status
        self.amount = amount
        self.time = time
        self.institution = institution
        self.unseen = unseen
    }
}

/// What reconciling one line did.
public struct ReconcileResult: Sendable, Equatable {
    /// What reconciliation changed on the bank's side.
    public enum Correction: String, Sendable, CaseIterable {
        /// A held reservation NetsUnion says succeeded: confirmed.
        case confirmed
        /// Released, expired or declined, and NetsUnion says it succeeded: counted again in its
        /// original windows (even above a cap: the money has moved).
        case recounted
        /// NetsUnion says it failed: what it held (authorized or confirmed) was given back.
        case givenBack
        /// The bank has no record of it: recorded (and counted when it succeeded).
        case unknownToBank
        /// The bank's record already agreed.
        case unchanged
        /// The same line was applied before: nothing changes.
        case alreadyReconciled
    }

    public let id: PaymentID
    /// What was changed.
    public let correction: Correction
    /// The payment's state after it.
    public let state: PaymentState
    /// NetsUnion's amount, which the record now holds.
    public let amountFen: Int64
    /// The bank's amount when NetsUnion's differed (the counters followed NetsUnion's).
    public let amountCorrectedFromFen: Int64?
    /// The first limit that counting it went past (`overLimitByReconciliation`), when it did.
    public let overLimit: FailedLimit?
}
