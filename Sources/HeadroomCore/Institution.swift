/// A payment institution's code (支付机构编码), e.g. `Z2007933000010`: 1 to 16 ASCII
/// letters and digits, packed into 16 bytes for fixed-width keys.
public struct Institution: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The code's first 8 bytes (ASCII, zero-padded), big-endian.
    public let high: UInt64
    /// The code's next 8 bytes.
    public let low: UInt64

    /// The longest code, in characters.
    public static let lengthMax = 16

    /// The zero bytes in the keys of counters not grouped by institution, and of card limits
    /// for all institutions. (Not `none`: that name would be taken for `Optional.none`.)
    public static let ungrouped = Institution(high: 0, low: 0)

    /// An institution from its packed bytes, as a stored key or record holds them (not checked:
    /// for bytes this type wrote).
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Why a text is not an institution code.
    public enum ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        /// No text at all.
        case empty
        /// Longer than ``lengthMax`` (the text given).
        case tooLong(String)
        /// A character other than A-Z, a-z, 0-9 (the text given).
        case badCharacter(String)

        public var description: String {
            switch self {
            case .empty: "an institution code is empty"
            case .tooLong(let s): "institution code \"\(s)\" is longer than 16 characters"
            case .badCharacter(let s): "institution code \"\(s)\" has a character other than A-Z, a-z, 0-9"
            }
        }
    }

    /// Parses an institution code: 1 to ``lengthMax`` characters of A-Z, a-z, 0-9.
    public init(_ code: String) throws(ParseError) {
        let bytes = Array(code.utf8)
        if bytes.isEmpty { throw .empty }
        if bytes.count > Institution.lengthMax { throw .tooLong(code) }
        for b in bytes {
            let alnum = (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122)
            if !alnum { throw .badCharacter(code) }
        }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for i in 0..<16 {
            let b = UInt64(i < bytes.count ? bytes[i] : 0)
            if i < 8 { high = high << 8 | b } else { low = low << 8 | b }
        }
        self.init(high: high, low: low)
    }

    /// The code as text.
    public var code: String {
        var bytes: [UInt8] = []
        for i in 0..<16 {
            let word = i < 8 ? high : low
            let b = UInt8(truncatingIfNeeded: word >> (8 * (7 - UInt64(i % 8))))
            if b == 0 { break }
            bytes.append(b)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public var description: String { code }

    public static func < (a: Institution, b: Institution) -> Bool {
        (a.high, a.low) < (b.high, b.low)
    }
}
