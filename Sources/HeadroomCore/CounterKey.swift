/// The key of one counter cell in the store: which counter, for which card and institution,
/// in which window. 45 bytes, big-endian, fixed width:
///
///     card(16) kind(1) window(4) definition(8) institution(16)
///
/// Card first, then the window: the cells one payment adds to (its card's day and month cells
/// for every counter) sort together, most often on one B-tree page, so that a payment dirties
/// one or two pages instead of one per counter (decision 0011). Bytes that a counter's grouping
/// does not use are zero (aggregates, with no card, sort first).
public struct CounterKey: Hashable, Sendable {
    /// What kind of window the cell counts.
    public enum Kind: UInt8, Sendable {
        /// A natural day (UTC+8); `window` is the day number.
        case day = 1
        /// A natural month; `window` is the month number.
        case month = 2
        /// A natural year; `window` is the year.
        case year = 3
        /// A minute of a rolling window of minutes; `window` is the minute number.
        case minuteBucket = 4
        /// An hour of a rolling window of hours; `window` is the hour number.
        case hourBucket = 5
        /// A new agreement's cool-off (risk rule `new-agreement`): `window` is the minute it
        /// was signed (unix minutes); the cell lives until the longest cool-off is over.
        case sinceSigning = 6
    }

    /// The key's length in bytes.
    public static let byteCount = 45

    /// The kind of window.
    public var kind: Kind
    /// The counter's definition: a hash of what it counts (grouping, window, filter), shared by the limits that count alike.
    public var definition: UInt64
    /// The card counted, or ``CardHash/ungrouped`` for a counter not grouped by card.
    public var card: CardHash
    /// The institution counted, or ``Institution/ungrouped`` for a counter not grouped by institution.
    public var institution: Institution
    /// The window's number (a day, a month, a year, a minute or an hour).
    public var window: UInt32

    /// A key from its fields.
    public init(kind: Kind, definition: UInt64, card: CardHash, institution: Institution, window: UInt32) {
        self.kind = kind
        self.definition = definition
        self.card = card
        self.institution = institution
        self.window = window
    }

    /// Writes the 45 key bytes into `buffer`, which must hold at least that many.
    @inlinable
    public func write(to buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= CounterKey.byteCount)
        buffer.storeBytes(of: card.high.bigEndian, toByteOffset: 0, as: UInt64.self)
        buffer.storeBytes(of: card.low.bigEndian, toByteOffset: 8, as: UInt64.self)
        buffer[16] = kind.rawValue
        buffer.storeBytes(of: window.bigEndian, toByteOffset: 17, as: UInt32.self)
        buffer.storeBytes(of: definition.bigEndian, toByteOffset: 21, as: UInt64.self)
        buffer.storeBytes(of: institution.high.bigEndian, toByteOffset: 29, as: UInt64.self)
        buffer.storeBytes(of: institution.low.bigEndian, toByteOffset: 37, as: UInt64.self)
    }

    /// Lends the key bytes, built on the stack, to `body`. Inlinable, so that the engine's calls
    /// are specialized: a generic call across modules looks up type metadata every time.
    @inlinable
    public func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        // The standard library's temporary allocation is not typed-throws: the error is carried out.
        let result: Result<R, E> = withUnsafeTemporaryAllocation(byteCount: CounterKey.byteCount, alignment: 8) { buffer in
            write(to: buffer)
            return Result { () throws(E) in try body(UnsafeRawBufferPointer(buffer)) }
        }
        return try result.get()
    }

    /// Reads a key back; `nil` when the bytes are not a counter key.
    public init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count == CounterKey.byteCount, let kind = Kind(rawValue: bytes[16]) else { return nil }
        func word(_ at: Int) -> UInt64 { UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        self.card = CardHash(high: word(0), low: word(8))
        self.kind = kind
        self.window = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 17, as: UInt32.self))
        self.definition = word(21)
        self.institution = Institution(high: word(29), low: word(37))
    }

    /// The first natural day (UTC+8) on which this cell can no longer matter to any decision:
    /// the day after its window ends (for rolling buckets, after the longest rolling window).
    public var deadFromDay: Int32 {
        switch kind {
        case .day:
            return Int32(window) + 1
        case .month:
            let year = Int(window) / 12
            let month = Int(window) % 12 + 1
            return month == 12 ? ChinaTime.day(year: year + 1, month: 1, day: 1)
                : ChinaTime.day(year: year, month: month + 1, day: 1)
        case .year:
            return ChinaTime.day(year: Int(window) + 1, month: 1, day: 1)
        case .minuteBucket:
            return Int32((Int64(window) + 1) * 60 / 86_400) + 1 + Int32(Window.rollingMinutesMax / 1440)
        case .hourBucket:
            return Int32((Int64(window) + 1) * 3600 / 86_400) + 1 + Int32(Window.rollingHoursMax / 24)
        case .sinceSigning:
            return Int32((Int64(window) * 60 + RiskRule.coolOffSecondsMax) / 86_400) + 2
        }
    }
}

extension CounterKey.Kind {
    /// The window index holding the instant: a day, a month (`year * 12 + month - 1`), a year,
    /// a minute or an hour, all in China Standard Time.
    public func window(at time: Timestamp) -> UInt32 {
        switch self {
        case .day:
            return UInt32(time.chinaDay)
        case .month:
            let c = ChinaTime.civil(day: time.chinaDay)
            return UInt32(c.year * 12 + c.month - 1)
        case .year:
            return UInt32(ChinaTime.civil(day: time.chinaDay).year)
        case .minuteBucket:
            return UInt32(ChinaTime.minute(time.unixSeconds))
        case .hourBucket:
            return UInt32(ChinaTime.hour(time.unixSeconds))
        case .sinceSigning:
            return UInt32(ChinaTime.minute(time.unixSeconds))
        }
    }
}

/// What one counter cell holds: the amount and number of payments reserved or confirmed in it.
/// Stored as 16 bytes in host order (a store is never moved across architectures).
public struct CounterValue: Equatable, Sendable {
    /// The amount counted, in fen.
    public var amountFen: Int64
    /// The payments counted.
    public var count: Int64

    /// Nothing counted.
    public static let zero = CounterValue(amountFen: 0, count: 0)
    /// The value's length in bytes, as stored.
    public static let byteCount = 16

    /// A value from its two figures.
    public init(amountFen: Int64, count: Int64) {
        self.amountFen = amountFen
        self.count = count
    }

    /// Decodes a stored value; `nil` for bytes of another length.
    public init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count == CounterValue.byteCount else { return nil }
        self.amountFen = bytes.loadUnaligned(fromByteOffset: 0, as: Int64.self)
        self.count = bytes.loadUnaligned(fromByteOffset: 8, as: Int64.self)
    }

    /// Calls `body` with the value as stored (16 bytes).
    @inlinable
    public func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let result: Result<R, E> = withUnsafeTemporaryAllocation(byteCount: CounterValue.byteCount, alignment: 8) { buffer in
            buffer.storeBytes(of: amountFen, toByteOffset: 0, as: Int64.self)
            buffer.storeBytes(of: count, toByteOffset: 8, as: Int64.self)
            return Result { () throws(E) in try body(UnsafeRawBufferPointer(buffer)) }
        }
        return try result.get()
    }

    /// Adds, reporting overflow instead of wrapping; `nil` on overflow.
    public func adding(amountFen: Int64, count: Int64) -> CounterValue? {
        let (a, ao) = self.amountFen.addingReportingOverflow(amountFen)
        let (c, co) = self.count.addingReportingOverflow(count)
        return ao || co ? nil : CounterValue(amountFen: a, count: c)
    }

    /// Nothing is counted.
    public var isZero: Bool { amountFen == 0 && count == 0 }
}
