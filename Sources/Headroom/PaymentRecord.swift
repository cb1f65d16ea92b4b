import HeadroomCore

/// Where a payment (or a refund) stands. The numbers are stored: never renumbered.
public enum PaymentState: UInt8, Sendable, NamedCase {
    case declined = 1
    case authorized = 2
    case confirmed = 3
    case released = 4
    /// A refund's record.
    case refunded = 5

    public var name: String {
        switch self {
        case .declined: "declined"
        case .authorized: "authorized"
        case .confirmed: "confirmed"
        case .released: "released"
        case .refunded: "refunded"
        }
    }
}

/// What the store keeps for one id: a payment with its first answer and the counter cells it
/// reserved on, or a refund. Keyed by the id's bytes in the `payments` database.
///
/// Layout (version 2, schema 3), host order:
///
///     version u8 | kind u8 | state u8 | fingerprint u64 | unixSeconds i64 | amountFen i64
///     | refundedFen i64 | ruleSetVersion u32 | decision | counters | original (refunds)
///
///     decision: outcome u8 | code u16 | finding tag u8 | finding | headroom (4 tiers)
///     finding:  tag 0 none; tag 1 a cap: limitID string, tier u8, window, measure u8,
///               max i64, used i64. A new kind of check adds a tag (decision 0014).
///
/// Version 1 (schema 2, Headroom 0.9) had the same bytes with a 0/1 "failed" flag where the
/// tag is, and no challenge outcome: `store migrate` rewrites it (``init(version1:)``).
struct PaymentRecord: Equatable {
    enum Kind: UInt8 {
        case payment = 1
        case refund = 2
    }

    typealias State = PaymentState

    static let version: UInt8 = 2
    /// Where the state byte stands, after version and kind.
    static let stateOffset = 2

    /// The kind and state of an encoded record, read in place without decoding the rest; `nil`
    /// when the bytes do not start a record of this version.
    static func header(_ bytes: UnsafeRawBufferPointer) -> (kind: Kind, state: State)? {
        guard bytes.count > stateOffset, bytes[0] == version,
              let kind = Kind(rawValue: bytes[1]), let state = State(rawValue: bytes[stateOffset]) else { return nil }
        return (kind, state)
    }

    var kind: Kind
    var state: State
    var fingerprint: UInt64
    var time: Timestamp
    var amountFen: Int64
    /// Payments: the sum of their refunds. Refunds: the original's refunded total after this one.
    var refundedFen: Int64
    var ruleSetVersion: UInt32
    /// Payments: the first answer. Refunds: unused (an approval).
    var decision: Decision
    /// The cells an approved payment reserved on, in plan order.
    var counters: [CounterUpdate]
    /// Refunds: the id of the payment refunded.
    var original: String?

    /// Payments stay live (holding limit) while authorized or confirmed.
    var holdsLimit: Bool { kind == .payment && (state == .authorized || state == .confirmed) }

    /// The last day any of its cells matters; a record may be purged after it.
    var deadFromDay: Int32 {
        counters.map(\.key.deadFromDay).max() ?? (time.chinaDay + 1)
    }

    func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        encode(into: &bytes)
        return bytes
    }

    /// Encodes into `bytes`, replacing what they held: a buffer that has grown once takes
    /// the next record without allocating (the writer reuses one, ``WriteLog/valueBuffer``).
    func encode(into bytes: inout [UInt8]) {
        var w = ByteWriter()
        swap(&w.bytes, &bytes)
        defer { swap(&w.bytes, &bytes) }
        w.bytes.removeAll(keepingCapacity: true)
        // At most one allocation: the fixed fields, a decision of a few tiers, and the cells.
        w.bytes.reserveCapacity(160 + counters.count * (CounterKey.byteCount + 1) + (original?.utf8.count ?? 0))
        w.u8(Self.version)
        w.u8(kind.rawValue)
        w.u8(state.rawValue)
        w.u64(fingerprint)
        w.i64(time.unixSeconds)
        w.i64(amountFen)
        w.i64(refundedFen)
        w.u32(ruleSetVersion)
        Self.encode(decision, into: &w)
        precondition(counters.count <= Int(UInt8.max))
        w.u8(UInt8(counters.count))
        for update in counters {
            update.key.withBytes { w.raw($0) }
            w.u8(update.refundRestores ? 1 : 0)
        }
        w.string(original ?? "")
    }

    init(kind: Kind, state: State, fingerprint: UInt64, time: Timestamp, amountFen: Int64, refundedFen: Int64,
         ruleSetVersion: UInt32, decision: Decision, counters: [CounterUpdate], original: String?) {
        self.kind = kind
        self.state = state
        self.fingerprint = fingerprint
        self.time = time
        self.amountFen = amountFen
        self.refundedFen = refundedFen
        self.ruleSetVersion = ruleSetVersion
        self.decision = decision
        self.counters = counters
        self.original = original
    }

    /// Decodes a record; `nil` when the bytes are not a record of this version.
    init?(bytes: UnsafeRawBufferPointer) {
        self.init(bytes: bytes, version: Self.version)
    }

    /// Decodes a record of Headroom 0.9 (version 1), to migrate it.
    init?(version1 bytes: UnsafeRawBufferPointer) {
        self.init(bytes: bytes, version: 1)
    }

    private init?(bytes: UnsafeRawBufferPointer, version recordVersion: UInt8) {
        var r = ByteReader(bytes)
        guard r.u8() == recordVersion,
              let kind = r.u8().flatMap(Kind.init(rawValue:)),
              let state = r.u8().flatMap(State.init(rawValue:)),
              let fingerprint = r.u64(), let seconds = r.i64(), let amount = r.i64(), let refunded = r.i64(),
              let version = r.u32(), let decision = Self.decodeDecision(&r, version: version),
              let count = r.u8()
        else { return nil }
        var counters: [CounterUpdate] = []
        counters.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let keyBytes = r.slice(CounterKey.byteCount), let key = CounterKey(bytes: keyBytes),
                  let restores = r.u8() else { return nil }
            counters.append(CounterUpdate(key: key, refundRestores: restores == 1))
        }
        guard let original = r.string(), r.isAtEnd else { return nil }
        self.init(kind: kind, state: state, fingerprint: fingerprint, time: Timestamp(unixSeconds: seconds),
                  amountFen: amount, refundedFen: refunded, ruleSetVersion: version, decision: decision,
                  counters: counters, original: original.isEmpty ? nil : original)
    }
}

extension PaymentRecord {
    /// The tags of the kinds of ``Finding``: stored, never renumbered.
    static let noFindingTag: UInt8 = 0
    static let capTag: UInt8 = 1

    static func encode(_ d: Decision, into w: inout ByteWriter) {
        w.u8(d.outcome.rawValue)
        w.u16(d.code.rawValue)
        switch d.decidedBy {
        case nil:
            w.u8(noFindingTag)
        case .cap(let f)?:
            w.u8(capTag)
            w.string(f.limitID)
            w.u8(f.tier.rawValue)
            encode(f.window, into: &w)
            w.u8(f.measure.rawValue)
            w.i64(f.max)
            w.i64(f.used)
        }
        for tier in Tier.allCases {
            let h = d.headroom[tier]
            w.u8(h == nil ? 0 : 1 | (h?.amountFen != nil ? 2 : 0) | (h?.count != nil ? 4 : 0))
            w.i64(h?.amountFen ?? 0)
            w.i64(h?.count ?? 0)
        }
    }

    static func decodeDecision(_ r: inout ByteReader, version: UInt32) -> Decision? {
        guard let outcome = r.u8().flatMap(Decision.Outcome.init(rawValue:)),
              let code = r.u16().flatMap(ReasonCode.init(rawValue:)), let tag = r.u8() else { return nil }
        var finding: Finding?
        switch tag {
        case noFindingTag:
            finding = nil
        case capTag:
            guard let id = r.string(), let tier = r.u8().flatMap(Tier.init(rawValue:)), let window = decodeWindow(&r),
                  let measure = r.u8().flatMap(Measure.init(rawValue:)), let max = r.i64(), let used = r.i64()
            else { return nil }
            finding = .cap(FailedLimit(limitID: id, tier: tier, window: window, measure: measure, max: max, used: used))
        default:
            return nil
        }
        var headroom = TierHeadrooms()
        for tier in Tier.allCases {
            guard let flags = r.u8(), let amount = r.i64(), let count = r.i64() else { return nil }
            if flags & 1 == 1 {
                headroom[tier] = TierHeadroom(amountFen: flags & 2 != 0 ? amount : nil, count: flags & 4 != 0 ? count : nil)
            }
        }
        return Decision(outcome: outcome, code: code, decidedBy: finding, headroom: headroom, ruleSetVersion: version)
    }

    static func encode(_ window: Window, into w: inout ByteWriter) {
        switch window {
        case .single: w.u8(1); w.u32(0)
        case .rollingMinutes(let n): w.u8(2); w.u32(UInt32(n))
        case .rollingHours(let n): w.u8(3); w.u32(UInt32(n))
        case .day: w.u8(4); w.u32(0)
        case .month: w.u8(5); w.u32(0)
        case .year: w.u8(6); w.u32(0)
        }
    }

    static func decodeWindow(_ r: inout ByteReader) -> Window? {
        guard let tag = r.u8(), let n = r.u32().map(Int.init) else { return nil }
        switch tag {
        case 1: return .single
        case 2: return .rollingMinutes(n)
        case 3: return .rollingHours(n)
        case 4: return .day
        case 5: return .month
        case 6: return .year
        default: return nil
        }
    }
}
