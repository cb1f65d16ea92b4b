import Foundation
import HeadroomCore
import HeadroomTesting
import Testing

@Suite struct TimeTests {
    /// Foundation's calendar in UTC+8: an independent oracle for the integer arithmetic.
    static let china: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(secondsFromGMT: 8 * 3600)!
        return c
    }()

    @Test func naturalDaysMatchTheCalendarOnRandomInstants() {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<5000 {
            let seconds = Int64.random(in: 946_684_800...7_258_118_400, using: &rng)  // 2000 to 2200
            let parts = Self.china.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(seconds)))
            let civil = ChinaTime.civil(day: ChinaTime.day(seconds))
            #expect(civil.year == parts.year && civil.month == parts.month && civil.day == parts.day, "at \(seconds)")
            #expect(ChinaTime.day(year: civil.year, month: civil.month, day: civil.day) == ChinaTime.day(seconds))
        }
    }

    @Test func chinaMidnightIsSixteenHundredUTC() throws {
        let before = try Timestamp(iso8601: "2026-11-25T15:59:59Z")
        let after = try Timestamp(iso8601: "2026-11-25T16:00:00Z")
        #expect(ChinaTime.dateString(day: before.chinaDay) == "2026-11-25")
        #expect(ChinaTime.dateString(day: after.chinaDay) == "2026-11-26")
        #expect(after.chinaISO8601 == "2026-11-26T00:00:00+08:00")
    }

    @Test func offsetsNameTheSameInstant() throws {
        let a = try Timestamp(iso8601: "2026-11-25T10:00:00+08:00")
        let b = try Timestamp(iso8601: "2026-11-25T02:00:00Z")
        let c = try Timestamp(iso8601: "2026-11-24T21:00:00-05:00")
        let d = try Timestamp(iso8601: "2026-11-25T10:00:00.999+08:00")
        #expect(a == b && b == c && a == d)
        #expect(a.unixSeconds == 1_795_572_000)  // python3: datetime(2026,11,25,2,tzinfo=utc).timestamp()
    }

    @Test(arguments: [
        "2026-11-25T10:00:00", "2026-11-25 10:00:00+08:00", "2026-02-29T10:00:00+08:00",
        "2026-13-01T10:00:00+08:00", "2026-11-25T24:00:00+08:00", "1999-12-31T10:00:00+08:00",
        "2026-11-25T10:00:00+0800", "2026-11-25T10:00:00+08:00x", "", "yesterday",
    ])
    func refusesMalformedTimes(text: String) {
        #expect(throws: Timestamp.ParseError.self) { try Timestamp(iso8601: text) }
    }

    @Test func missingOffsetIsNamed() {
        #expect {
            try Timestamp(iso8601: "2026-11-25T10:00:00")
        } throws: { ($0 as? Timestamp.ParseError)?.reason.contains("missing UTC offset") == true }
    }

    @Test func windowIndexes() throws {
        let t = try Timestamp(iso8601: "2026-12-31T23:59:59+08:00")
        #expect(CounterKey.Kind.month.window(at: t) == UInt32(2026 * 12 + 11))
        #expect(CounterKey.Kind.year.window(at: t) == 2026)
        let next = Timestamp(unixSeconds: t.unixSeconds + 1)
        #expect(CounterKey.Kind.year.window(at: next) == 2027)
        #expect(CounterKey.Kind.day.window(at: next) == CounterKey.Kind.day.window(at: t) + 1)
    }

    @Test func cellsDieAfterTheirWindow() throws {
        let t = try Timestamp(iso8601: "2026-02-10T12:00:00+08:00")
        let key = { (kind: CounterKey.Kind) in
            CounterKey(kind: kind, definition: 1, card: .ungrouped, institution: .ungrouped, window: kind.window(at: t))
        }
        #expect(ChinaTime.dateString(day: key(.day).deadFromDay) == "2026-02-11")
        #expect(ChinaTime.dateString(day: key(.month).deadFromDay) == "2026-03-01")
        #expect(ChinaTime.dateString(day: key(.year).deadFromDay) == "2027-01-01")
        #expect(key(.hourBucket).deadFromDay > key(.day).deadFromDay + 30)
    }
}
