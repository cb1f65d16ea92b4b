/// An instant, as Unix seconds, parsed from an ISO 8601 time that carries its UTC offset.
public struct Timestamp: Hashable, Comparable, Sendable {
    /// Seconds since 1970-01-01T00:00:00Z.
    public let unixSeconds: Int64

    /// The instant `unixSeconds` seconds after the epoch.
    public init(unixSeconds: Int64) {
        self.unixSeconds = unixSeconds
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.unixSeconds < b.unixSeconds }

    /// The natural day in China Standard Time.
    public var chinaDay: Int32 { ChinaTime.day(unixSeconds) }

    /// Why a string is not a time.
    public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        /// The text that was not a time.
        public let text: String
        /// What is wrong with it.
        public let reason: String
        public var description: String {
            "\"\(text)\" is not a time like \"2026-11-25T10:00:00+08:00\": \(reason)"
        }
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`. The offset is required: a
    /// time without one could be any of 24 instants. Fractions of a second are dropped
    /// (truncated toward the past), which never moves a payment into another natural day.
    public init(iso8601 text: String) throws(ParseError) {
        let bytes = Array(text.utf8)
        func fail(_ reason: String) -> ParseError { ParseError(text: text, reason: reason) }
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= bytes.count else { return nil }
            var value = 0
            for b in bytes[from..<from + count] {
                guard b >= 48, b <= 57 else { return nil }
                value = value * 10 + Int(b - 48)
            }
            return value
        }
        func expect(_ at: Int, _ char: UInt8) -> Bool { at < bytes.count && bytes[at] == char }
        guard bytes.count >= 19,
              let year = number(0, 4), expect(4, 45), let month = number(5, 2), expect(7, 45),
              let day = number(8, 2), expect(10, 84) || expect(10, 116),
              let hour = number(11, 2), expect(13, 58), let minute = number(14, 2), expect(16, 58),
              let second = number(17, 2)
        else { throw fail("expected YYYY-MM-DDTHH:MM:SS") }
        guard (ChinaTime.yearMin...ChinaTime.yearMax).contains(year) else {
            throw fail("year outside \(ChinaTime.yearMin)-\(ChinaTime.yearMax)")
        }
        guard (1...12).contains(month) else { throw fail("month \(month)") }
        guard (1...ChinaTime.daysInMonth(year: year, month: month)).contains(day) else { throw fail("day \(day)") }
        guard hour < 24, minute < 60, second < 60 else { throw fail("time of day out of range") }
        var at = 19
        if expect(at, 46) {
            at += 1
            let start = at
            while at < bytes.count, bytes[at] >= 48, bytes[at] <= 57 { at += 1 }
            guard at > start, at - start <= 9 else { throw fail("bad fraction of a second") }
        }
        let offsetSeconds: Int
        if expect(at, 90) || expect(at, 122) {
            offsetSeconds = 0
            at += 1
        } else if expect(at, 43) || expect(at, 45) {
            let sign = bytes[at] == 43 ? 1 : -1
            guard let oh = number(at + 1, 2), expect(at + 3, 58), let om = number(at + 4, 2), oh <= 14, om < 60 else {
                throw fail("bad UTC offset")
            }
            offsetSeconds = sign * (oh * 3600 + om * 60)
            at += 6
        } else {
            throw fail("missing UTC offset (Z, +08:00, ...)")
        }
        guard at == bytes.count else { throw fail("unexpected text after the offset") }
        let days = Int64(ChinaTime.day(year: year, month: month, day: day))
        let local = days * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        self.unixSeconds = local - Int64(offsetSeconds)
    }

    /// `2026-11-25T10:00:00+08:00`: the instant in China Standard Time.
    public var chinaISO8601: String {
        let local = unixSeconds + ChinaTime.offsetSeconds
        let day = Int32(ChinaTime.floorDiv(local, 86_400))
        let secondOfDay = Int(local - Int64(day) * 86_400)
        let p = ChinaTime.pad
        return "\(ChinaTime.dateString(day: day))T\(p(secondOfDay / 3600)):\(p(secondOfDay / 60 % 60)):\(p(secondOfDay % 60))+08:00"
    }
}
