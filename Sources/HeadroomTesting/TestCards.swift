import HeadroomCore

/// Valid card numbers made up for tests and benchmarks.
public enum TestCards {
    /// A 19-digit number that passes the Luhn check: `issuer` (6 digits), `index` on 12 digits,
    /// and the check digit.
    public static func number(_ index: Int, issuer: String = "622848") -> String {
        precondition(issuer.utf8.count == 6 && index >= 0 && index < 1_000_000_000_000)
        let digits = String(index)
        let body = issuer + String(repeating: "0", count: 12 - digits.count) + digits
        return body + String(UnicodeScalar(CardNumber.luhnCheckDigit(for: Array(body.utf8))))
    }
}
