/// A payment card number (PAN), validated: 16 to 19 digits with a correct Luhn check digit.
///
/// It never shows itself in clear: `description`, `debugDescription` and reflection all give
/// the masked form (first 6 and last 4 digits). Only ``withDigits(_:)`` reaches the digits, for
/// the keyed hash.
public struct CardNumber: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let digits: [UInt8]

    /// Why a string is not a card number. Never carries the number itself.
    public enum ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        /// A character other than a digit.
        case notDigits
        /// Fewer than 16 or more than 19 digits (the count found).
        case wrongLength(Int)
        /// The last digit is not the Luhn check digit of the others.
        case failsLuhnCheck

        public var description: String {
            switch self {
            case .notDigits: "a card number is 16 to 19 digits, nothing else"
            case .wrongLength(let n): "a card number is 16 to 19 digits, not \(n)"
            case .failsLuhnCheck: "the card number's check digit is wrong (Luhn)"
            }
        }
    }

    /// Parses a card number: 16 to 19 digits passing the Luhn check. The error never repeats the number.
    public init(_ text: String) throws(ParseError) {
        var digits: [UInt8] = []
        digits.reserveCapacity(19)
        for byte in text.utf8 {
            guard byte >= 48, byte <= 57 else { throw .notDigits }
            digits.append(byte)
        }
        guard (16...19).contains(digits.count) else { throw .wrongLength(digits.count) }
        guard CardNumber.luhnValid(digits) else { throw .failsLuhnCheck }
        self.digits = digits
    }

    /// The Luhn check digit (ASCII) that completes `body` (ASCII digits without it).
    public static func luhnCheckDigit(for body: some BidirectionalCollection<UInt8>) -> UInt8 {
        var sum = 0
        for (index, byte) in body.reversed().enumerated() {
            var d = Int(byte - 48)
            if index % 2 == 0 {
                d *= 2
                if d > 9 { d -= 9 }
            }
            sum += d
        }
        return UInt8(48 + (10 - sum % 10) % 10)
    }

    /// The Luhn (mod 10) check over ASCII digits: the last one is the check digit of the rest.
    public static func luhnValid(_ ascii: [UInt8]) -> Bool {
        guard let last = ascii.last else { return false }
        return luhnCheckDigit(for: ascii.dropLast()) == last
    }

    /// `622202******1234`: at most the first 6 and last 4 digits, as PCI DSS allows.
    public var masked: String {
        let head = String(decoding: digits.prefix(6), as: UTF8.self)
        let tail = String(decoding: digits.suffix(4), as: UTF8.self)
        return head + String(repeating: "*", count: digits.count - 10) + tail
    }

    public var description: String { masked }
    public var debugDescription: String { "CardNumber(\(masked))" }
    public var customMirror: Mirror { Mirror(self, children: ["masked": masked]) }

    /// Lends the ASCII digits to `body`, for hashing. Do not keep or log them.
    public func withDigits<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try digits.withUnsafeBytes(body)
    }
}

/// The keyed hash of a card number, truncated to 128 bits: what the store keeps instead of
/// the number.
public struct CardHash: Hashable, Sendable, CustomStringConvertible {
    /// The hash's first 8 bytes, big-endian.
    public let high: UInt64
    /// The hash's next 8 bytes, big-endian.
    public let low: UInt64

    /// A hash from its two halves (as stored in a counter key or a record).
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The zero bytes in the keys of counters not grouped by card. (Not `none`: that name would
    /// be taken for `Optional.none` wherever a `CardHash?` is compared.)
    public static let ungrouped = CardHash(high: 0, low: 0)

    /// 32 lowercase hex digits.
    public var description: String { high.hexDigits + low.hexDigits }
}

extension UInt64 {
    /// 16 lowercase hex digits, zero-padded: for hashes and identities shown to people.
    public var hexDigits: String {
        let s = String(self, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
