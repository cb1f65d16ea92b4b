/// A NetsUnion transaction id (the idempotency key): 1 to 64 printable ASCII characters.
public struct PaymentID: Hashable, Sendable, CustomStringConvertible {
    /// The id as NetsUnion gave it.
    public let text: String

    /// The longest id, in characters.
    public static let lengthMax = 64

    /// Why a text is not a payment id.
    public enum ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        /// No text at all.
        case empty
        /// Longer than ``lengthMax`` (the length found).
        case tooLong(Int)
        /// A character outside printable ASCII (a space, a control character, non-ASCII).
        case badCharacter

        public var description: String {
            switch self {
            case .empty: "the id is empty"
            case .tooLong(let n): "the id has \(n) characters; at most 64"
            case .badCharacter: "the id has a character outside printable ASCII"
            }
        }
    }

    /// Parses an id: 1 to ``lengthMax`` printable ASCII characters, no space.
    public init(_ text: String) throws(ParseError) {
        let count = text.utf8.count
        if count == 0 { throw .empty }
        if count > PaymentID.lengthMax { throw .tooLong(count) }
        for b in text.utf8 where b < 0x21 || b > 0x7E { throw .badCharacter }
        self.text = text
    }

    public var description: String { text }
}

/// One payment, validated, with its card in the form `Card`: a ``PaymentRequest`` as the front
/// processor sends it (the clear ``CardNumber``, hashed by the engine and never stored), or a
/// ``Payment`` as the domain judges it (a keyed ``CardHash``: the clear number never reaches
/// the domain). One shape for both, so the two cannot drift apart.
public struct PaymentOf<Card: Sendable>: Sendable {
    public var id: PaymentID
    /// When the payment was made: its windows (day, month, rolling buckets) are taken from it.
    public var time: Timestamp
    /// The card: its number in a request, its keyed hash once hashed.
    public var card: Card
    /// The payment institution (支付机构) that sent it.
    public var institution: Institution
    /// The business type.
    public var business: Business
    /// The amount.
    public var amount: Amount
    /// The account class (I, II, III), which the regulatory caps depend on.
    public var accountClass: AccountClass
    /// The channel, when NetsUnion gives it.
    public var channel: Channel?
    /// Personal or corporate, when given; a payment without one is held as a personal one.
    public var accountType: AccountType?
    /// The agreement (协议) it was made under, when given.
    public var agreementID: String?
    /// The merchant, when given.
    public var merchantID: String?
    /// The keyed hash standing for ``agreementID`` in the store (set by the engine, which
    /// holds the key; `nil` without an agreement id).
    public var agreementKey: CardHash?
    /// The keyed hash standing for ``merchantID`` in the store (set by the engine).
    public var merchantKey: CardHash?

    /// A payment from its fields.
    public init(
        id: PaymentID, time: Timestamp, card: Card, institution: Institution,
        business: Business, amount: Amount, accountClass: AccountClass,
        channel: Channel? = nil, accountType: AccountType? = nil,
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

    /// The same payment with its card in another form (hashed, say).
    public func withCard<Other>(_ card: Other) -> PaymentOf<Other> {
        var other = PaymentOf<Other>(id: id, time: time, card: card, institution: institution, business: business, amount: amount,
                                     accountClass: accountClass, channel: channel, accountType: accountType,
                                     agreementID: agreementID, merchantID: merchantID)
        other.agreementKey = agreementKey
        other.merchantKey = merchantKey
        return other
    }
}

extension PaymentOf: Equatable where Card: Equatable {}
extension PaymentOf: Hashable where Card: Hashable {}

/// A payment as the domain judges it: its card a keyed hash.
public typealias Payment = PaymentOf<CardHash>

/// A payment to authorize as the front processor has it: its clear card number is hashed by
/// the engine with the operator's key and never stored.
public typealias PaymentRequest = PaymentOf<CardNumber>

extension PaymentOf where Card == CardHash {
    /// A 64-bit fingerprint of everything the payment says, so that a retry with the same id
    /// but other content is recognised as a conflict.
    public var fingerprint: UInt64 {
        var h = FNV1a()
        h.add(id.text)
        h.add(UInt64(bitPattern: time.unixSeconds))
        h.add(card.high)
        h.add(card.low)
        h.add(institution.high)
        h.add(institution.low)
        h.add(UInt64(business.rawValue))
        h.add(UInt64(bitPattern: amount.fen))
        h.add(UInt64(accountClass.rawValue))
        h.add(UInt64(channel.map { $0.rawValue + 1 } ?? 0))
        h.add(UInt64(accountType.map { $0.rawValue + 1 } ?? 0))
        h.add(agreementID ?? "\u{0}")
        h.add(merchantID ?? "\u{0}")
        return h.value
    }
}

/// FNV-1a, 64 bits: stable across processes and releases (unlike `Hasher`), for ids that are
/// stored. Not a cryptographic hash.
public struct FNV1a: Sendable {
    /// The hash so far.
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    /// The hash of nothing (FNV-1a's offset basis).
    public init() {}

    /// Adds one byte.
    public mutating func add(byte: UInt8) {
        value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }

    /// Adds a text's UTF-8 bytes and a separator no UTF-8 text contains (0xff).
    public mutating func add(_ text: String) {
        for b in text.utf8 { add(byte: b) }
        add(byte: 0xff)  // a separator no UTF-8 text contains
    }

    /// Adds a word's 8 bytes, big-endian.
    public mutating func add(_ word: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { add(byte: UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
    }
}
