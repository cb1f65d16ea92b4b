/// How long an authorized payment holds its reservation before it expires, by business type
/// and, for every business, by account type (gateway orders of companies stay valid for 30
/// days, those of persons for 3 hours). Set in the rule files' `holds` section; a rule set
/// without one lets reservations hold until they are confirmed or released.
///
/// A payment that states no account type is held as a personal one (the shorter hold).
public struct HoldTimes: Sendable, Equatable, CustomStringConvertible {
    /// Seconds, at `business.rawValue * 2 + (corporate ? 1 : 0)`; `nil` where none is set.
    private var seconds: [Int64?]
    /// How long a challenged payment holds its reservation while the customer verifies
    /// (`holds.challenge`; required when a risk rule challenges).
    public var challengeSeconds: Int64?

    /// The shortest and longest holds a rule file may set.
    public static let secondsMin: Int64 = 60
    /// The longest hold time: 366 days.
    public static let secondsMax: Int64 = 366 * 86_400

    /// No hold times: reservations are kept until settled.
    public init() {
        seconds = Array(repeating: nil, count: Business.allCases.count * 2)
    }

    private static func index(_ business: Business, _ accountType: AccountType?) -> Int {
        Int(business.rawValue) * 2 + (accountType == .corporate ? 1 : 0)
    }

    /// The hold of a payment of `business` from an account of `accountType`.
    public func seconds(for business: Business, accountType: AccountType?) -> Int64? {
        seconds[Self.index(business, accountType)]
    }

    /// Sets the hold time of `business` for `accountType` to `value` seconds.
    public mutating func set(_ business: Business, _ accountType: AccountType, seconds value: Int64) {
        seconds[Self.index(business, accountType)] = value
    }

    /// The businesses that have a hold, in raw order.
    public var businesses: [Business] {
        Business.allCases.filter { seconds(for: $0, accountType: .personal) != nil || seconds(for: $0, accountType: .corporate) != nil }
    }

    /// `1h`, `3h`, `30d`, `90m`: the largest unit that divides it.
    public static func text(_ seconds: Int64) -> String {
        if seconds % 86_400 == 0 { return "\(seconds / 86_400)d" }
        if seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        if seconds % 60 == 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }

    /// Reads `90m`, `3h`, `30d`; `nil` for anything else.
    public static func parse(_ text: String) -> Int64? {
        guard let unit = text.last, text.count >= 2, let n = Int64(text.dropLast()), n > 0, n < 1_000_000 else { return nil }
        switch unit {
        case "m": return n * 60
        case "h": return n * 3600
        case "d": return n * 86_400
        default: return nil
        }
    }

    /// `agreement 1h, gateway 3h (corporate 30d), ...`
    public var description: String {
        businesses.map { business in
            let personal = seconds(for: business, accountType: .personal)
            let corporate = seconds(for: business, accountType: .corporate)
            let head = "\(business.name) \(personal.map(Self.text) ?? "none")"
            return corporate == personal ? head : "\(head) (corporate \(corporate.map(Self.text) ?? "none"))"
        }.joined(separator: ", ") + (challengeSeconds.map { ", challenge \(Self.text($0))" } ?? "")
    }
}
