/// An amount of CNY in integer fen (1 CNY = 100 fen). Never a floating-point number.
public struct Amount: Hashable, Comparable, Sendable {
    /// The amount in fen (1 yuan = 100 fen).
    public let fen: Int64

    /// The largest single amount Headroom accepts: 100,000,000,000.00 CNY. Far above any
    /// payment, and small enough that millions of them still sum inside `Int64`.
    public static let fenMax: Int64 = 10_000_000_000_000

    /// An amount of `fen` fen, taken as it is (``init(yuan:)`` parses and checks text).
    public init(fen: Int64) {
        self.fen = fen
    }

    public static func < (a: Amount, b: Amount) -> Bool { a.fen < b.fen }

    /// Why a decimal string is not an amount.
    public enum ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        /// No text at all.
        case empty
        /// Not a decimal number of yuan (the text given).
        case notDecimal(String)
        /// More than two decimals: amounts are exact to the fen.
        case tooManyDecimals(String)
        /// Zero or below, where an amount must be above zero.
        case notPositive(String)
        /// Above ``fenMax``.
        case tooLarge(String)
        /// `"0001.00"`: a leading zero before other digits is refused, not read past: a field
        /// padded by another system is a format to agree on, not to guess.
        case leadingZeros(String)

        public var description: String {
            switch self {
            case .empty: "is empty"
            case .notDecimal(let s): "\"\(s)\" is not a decimal amount in yuan like \"1234.56\""
            case .tooManyDecimals(let s): "\"\(s)\" has more than 2 decimals: amounts are exact to the fen"
            case .notPositive(let s): "\"\(s)\" is not above zero"
            case .tooLarge(let s): "\"\(s)\" is above the largest amount, 100,000,000,000.00"
            case .leadingZeros(let s): "\"\(s)\" has leading zeros: write it as \"\(Self.withoutLeadingZeros(s))\""
            }
        }

        static func withoutLeadingZeros(_ s: String) -> String {
            let trimmed = s.drop { $0 == "0" }
            return trimmed.isEmpty || trimmed.first == "." ? "0" + trimmed : String(trimmed)
        }
    }

    /// Parses a decimal amount in yuan (`"1234.56"`, `"12.5"`, `"300"`), exactly, to fen.
    ///
    /// Refuses signs, exponents, separators, leading zeros (`"007.00"`; `"0.50"` is fine), more
    /// than two decimals, zero and amounts above ``fenMax``.
    public init(yuan text: String) throws(ParseError) {
        self.fen = try Amount.parseFen(text, allowZero: false)
    }

    /// Parses like ``init(yuan:)``; `allowZero` admits `"0.00"` (for limits that allow nothing).
    public static func parseFen(_ text: String, allowZero: Bool) throws(ParseError) -> Int64 {
        if text.isEmpty { throw .empty }
        var whole: Int64 = 0
        var fraction: Int64 = 0
        var fractionDigits = 0
        var digitsBeforePoint = 0
        var seenPoint = false
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                if seenPoint || digitsBeforePoint == 0 { throw .notDecimal(text) }
                seenPoint = true
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { throw .notDecimal(text) }
            let digit = Int64(byte - UInt8(ascii: "0"))
            if seenPoint {
                fractionDigits += 1
                if fractionDigits > 2 { throw .tooManyDecimals(text) }
                fraction = fraction * 10 + digit
            } else {
                if digitsBeforePoint == 1 && whole == 0 { throw .leadingZeros(text) }
                digitsBeforePoint += 1
                if digitsBeforePoint > 12 { throw .tooLarge(text) }
                whole = whole * 10 + digit
            }
        }
        if seenPoint && fractionDigits == 0 { throw .notDecimal(text) }
        if fractionDigits == 1 { fraction *= 10 }
        let fen = whole * 100 + fraction
        if fen > fenMax { throw .tooLarge(text) }
        if fen == 0 && !allowZero { throw .notPositive(text) }
        return fen
    }

    /// `1234.56`: plain decimal yuan, for machines (JSON).
    public var plain: String { Amount.plain(fen) }

    /// `1,234.56`: grouped decimal yuan, for people.
    public var grouped: String { Amount.grouped(fen) }

    /// `fen` as yuan with two decimals and no grouping: `"1234.56"` (what answers and files write).
    public static func plain(_ fen: Int64) -> String {
        let sign = fen < 0 ? "-" : ""
        let magnitude = fen.magnitude
        let cents = magnitude % 100
        return "\(sign)\(magnitude / 100).\(cents < 10 ? "0" : "")\(cents)"
    }

    /// `fen` as yuan with two decimals and thousands grouped: `"1,234.56"` (what operators read).
    public static func grouped(_ fen: Int64) -> String {
        let sign = fen < 0 ? "-" : ""
        let magnitude = fen.magnitude
        let cents = magnitude % 100
        var digits = String(magnitude / 100)
        var groupedDigits = ""
        while digits.count > 3 {
            groupedDigits = "," + digits.suffix(3) + groupedDigits
            digits.removeLast(3)
        }
        return "\(sign)\(digits)\(groupedDigits).\(cents < 10 ? "0" : "")\(cents)"
    }
}
