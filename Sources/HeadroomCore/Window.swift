/// The span of time a limit counts over. Fixed windows are natural (calendar) periods in
/// China Standard Time; a rolling window sums whole buckets (minutes or hours).
public enum Window: Hashable, Sendable, CustomStringConvertible {
    /// This payment alone (a single-payment cap). Has no counter.
    case single
    /// The current minute and the `minutes - 1` minutes before it.
    case rollingMinutes(Int)
    /// The current hour and the `hours - 1` hours before it.
    case rollingHours(Int)
    /// The natural day (00:00 to 24:00 UTC+8).
    case day
    /// The natural month.
    case month
    /// The natural year.
    case year

    /// The longest rolling windows: a day of minutes, 31 days of hours.
    public static let rollingMinutesMax = 1440
    /// The longest rolling window of hours: 31 days.
    public static let rollingHoursMax = 744

    /// The stable number used in reason codes: 1 single, 2 rolling, 3 day, 4 month, 5 year.
    public var codeNumber: UInt16 {
        switch self {
        case .single: 1
        case .rollingMinutes, .rollingHours: 2
        case .day: 3
        case .month: 4
        case .year: 5
        }
    }

    /// `single`, `day`, `month`, `year`, `rolling 30m`, `rolling 24h`: the rule-file spelling.
    public var description: String {
        switch self {
        case .single: "single"
        case .rollingMinutes(let n): "rolling \(n)m"
        case .rollingHours(let n): "rolling \(n)h"
        case .day: "day"
        case .month: "month"
        case .year: "year"
        }
    }

    /// How people read it in a sentence: "per day", "per 30 minutes".
    public var phrase: String {
        switch self {
        case .single: "single payment"
        case .rollingMinutes(let n): "per \(n) minutes"
        case .rollingHours(let n): "per \(n) hours"
        case .day: "daily"
        case .month: "monthly"
        case .year: "yearly"
        }
    }

    /// The kind of counter key this window uses, or `nil` for a single-payment cap.
    public var keyKind: CounterKey.Kind? {
        switch self {
        case .single: nil
        case .rollingMinutes: .minuteBucket
        case .rollingHours: .hourBucket
        case .day: .day
        case .month: .month
        case .year: .year
        }
    }

    /// How many buckets of `keyKind` the window sums (1 for natural periods).
    public var bucketCount: Int {
        switch self {
        case .rollingMinutes(let n), .rollingHours(let n): n
        default: 1
        }
    }

    /// Parses the rule-file spelling; `nil` when it is none of them.
    public init?(spelling: String) {
        switch spelling {
        case "single": self = .single
        case "day": self = .day
        case "month": self = .month
        case "year": self = .year
        default:
            guard spelling.hasPrefix("rolling "), spelling.count > 9 else { return nil }
            let amount = spelling.dropFirst(8).dropLast()
            guard let n = Int(amount), n > 0 else { return nil }
            switch spelling.last {
            case "m": self = .rollingMinutes(n)
            case "h": self = .rollingHours(n)
            default: return nil
            }
        }
    }
}
