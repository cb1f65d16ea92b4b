/// Natural days, months and years in China Standard Time (UTC+8, no daylight saving), by
/// integer arithmetic on Unix seconds. No `Calendar`, no `Date`.
public enum ChinaTime {
    /// China Standard Time is UTC+8 all year.
    public static let offsetSeconds: Int64 = 8 * 3600
    static let secondsPerDay: Int64 = 86_400

    /// The earliest and latest years a payment time may carry.
    public static let yearMin = 2000
    /// The last year a date may name (the day numbers' range).
    public static let yearMax = 2199

    /// The natural day (days since 1970-01-01 in UTC+8) holding the instant `unixSeconds`.
    public static func day(_ unixSeconds: Int64) -> Int32 {
        Int32(floorDiv(unixSeconds + offsetSeconds, secondsPerDay))
    }

    /// The minute (since 1970-01-01 00:00 UTC+8) holding the instant.
    public static func minute(_ unixSeconds: Int64) -> Int64 {
        floorDiv(unixSeconds + offsetSeconds, 60)
    }

    /// The hour (since 1970-01-01 00:00 UTC+8) holding the instant.
    public static func hour(_ unixSeconds: Int64) -> Int64 {
        floorDiv(unixSeconds + offsetSeconds, 3600)
    }

    /// The civil date of a day number (proleptic Gregorian; H. Hinnant's algorithm).
    public static func civil(day: Int32) -> (year: Int, month: Int, day: Int) {
        let z = Int(day) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let d = dayOfYear - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// The day number of a civil date (inverse of ``civil(day:)``).
    public static func day(year: Int, month: Int, day: Int) -> Int32 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return Int32(era * 146_097 + dayOfEra - 719_468)
    }

    /// The days in `month` (1 to 12) of `year`, leap years counted.
    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Whether `year` is a leap year of the Gregorian calendar.
    public static func isLeap(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    /// The day number of a natural day written `2026-11-25`; `nil` for anything else (a day
    /// that does not exist, another layout).
    public static func day(date text: String) -> Int32? {
        guard let time = try? Timestamp(iso8601: text + "T12:00:00+08:00") else { return nil }
        let day = time.chinaDay
        return dateString(day: day) == text ? day : nil
    }

    /// `2026-11-25`: the natural day of a day number.
    public static func dateString(day: Int32) -> String {
        let c = civil(day: day)
        return "\(c.year)-\(pad(c.month))-\(pad(c.day))"
    }

    static func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}
