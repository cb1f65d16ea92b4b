import HeadroomCore

/// Where a payment (or a refund) stands. The numbers are stored: never renumbered.
public enum PaymentState: UInt8, Sendable, NamedCase {
    /// Declined: nothing was counted.
    case declined = 1
    /// Approved, its reservation held until a confirm, a release or its hold's end.
    case authorized = 2
    /// Approved and the core debit done: counted for good (refunds may give some back).
    case confirmed = 3
    /// Approved, then released: its reservation was given back.
    case released = 4
    /// A refund's record.
    case refunded = 5
    /// Its hold time ran out before a confirm or a release came: given back like a release.
    case expired = 6
    /// NetsUnion's reconciliation said it failed: whatever it held was given back.
    case reversed = 7
    /// Challenged by a risk rule: holds its reservation until verified, released or its
    /// challenge hold runs out (decision 0017).
    case challenged = 8

    /// The name answers and `headroom payment` write.
    public var name: String {
        switch self {
        case .declined: "declined"
        case .authorized: "authorized"
        case .confirmed: "confirmed"
        case .released: "released"
        case .refunded: "refunded"
        case .expired: "expired"
        case .reversed: "reversed"
        case .challenged: "challenged"
        }
    }
}

/// What the store keeps for one id: a payment with its first answer and the counter cells it
/// reserved on, or a refund. Keyed by the id's bytes in the `payments` database.
///
/// Layout (version 3, schema 4), host order:
///
///     version u8 | kind u8 | state u8 | fingerprint u64 | unixSeconds i64 | amountFen i64
///     | refundedFen i64 | ruleSetVersion u32 | heldUntil i64 | subject | decision | counters
///     | original (refunds) | events (26 bytes each, to the end)
///
///     subject:  present u8 | card hash 16 | institution 16 | business u8 | class u8
///               | channel u8 (0 none, else raw + 1) | account type u8 (likewise)
///     event:    kind u8 | detail u8 | unixSeconds i64 | amountFen i64 | extra i64
///
///     decision: outcome u8 | code u16 | finding tag u8 | finding | headroom (4 tiers)
///     finding:  tag 0 none; tag 1 a cap: limitID string, tier u8, window, measure u8,
///               max i64, used i64. A new kind of check adds a tag (decision 0014).
///
/// Version 2 (schema 3, Headroom 0.10) had no hold time, subject or events; version 1 (schema
/// 2, Headroom 0.9) also had a 0/1 "failed" flag where the finding's tag is. `store migrate`
/// rewrites both (``init(olderVersion:)``).
struct PaymentRecord: Equatable {
    enum Kind: UInt8 {
        case payment = 1
        case refund = 2
    }

    typealias State = PaymentState

    static let version: UInt8 = 3
    /// Where the state byte stands, after version and kind.
    static let stateOffset = 2
    /// Where `heldUntil` stands: after version, kind, state, fingerprint, time, amount,
    /// refunded and rule-set version.
    static let heldUntilOffset = 39

    /// What an encoded record says in its fixed fields, read in place without decoding the rest.
    struct Header {
        var kind: Kind
        var state: State
        var heldUntil: Int64
    }

    /// The header of an encoded record; `nil` when the bytes do not start a record of this version.
    static func header(_ bytes: UnsafeRawBufferPointer) -> Header? {
        guard bytes.count >= heldUntilOffset + 8, bytes[0] == version,
              let kind = Kind(rawValue: bytes[1]), let state = State(rawValue: bytes[stateOffset]) else { return nil }
        return Header(kind: kind, state: state, heldUntil: bytes.loadUnaligned(fromByteOffset: heldUntilOffset, as: Int64.self))
    }

    /// Moves an encoded record (of this version) to `state` in place: the state byte set, the
    /// hold cleared, `event` appended. What ``Store/transition(_:id:to:event:_:)`` writes;
    /// equal to decoding, changing those fields and encoding again.
    static func transition(_ bytes: inout [UInt8], to state: State, appending event: Event) {
        bytes[stateOffset] = state.rawValue
        for i in 0..<8 { bytes[heldUntilOffset + i] = 0 }
        event.append(to: &bytes)
    }

    /// What a payment's planning reads, kept so that reconciliation can count it again: the
    /// card's keyed hash (never the number), institution and attributes.
    struct Subject: Equatable {
        var card: CardHash
        var institution: Institution
        var business: Business
        var accountClass: AccountClass
        var channel: Channel?
        var accountType: AccountType?

        init(_ payment: Payment) {
            card = payment.card
            institution = payment.institution
            business = payment.business
            accountClass = payment.accountClass
            channel = payment.channel
            accountType = payment.accountType
        }

        init(card: CardHash, institution: Institution, business: Business, accountClass: AccountClass,
             channel: Channel?, accountType: AccountType?) {
            self.card = card
            self.institution = institution
            self.business = business
            self.accountClass = accountClass
            self.channel = channel
            self.accountType = accountType
        }

        /// The payment again, with this id, time and amount.
        func payment(id: PaymentID, time: Timestamp, amountFen: Int64) -> Payment {
            Payment(id: id, time: time, card: card, institution: institution, business: business,
                    amount: Amount(fen: amountFen), accountClass: accountClass, channel: channel, accountType: accountType)
        }
    }

    /// One step of a payment's life, at the engine's clock (``Engine/Options/clock``).
    struct Event: Equatable {
        /// Stored: never renumbered. Named as `headroom payment` shows them.
        enum Kind: UInt8, NamedCase {
            case authorized = 1
            case declined = 2
            case confirmed = 3
            case released = 4
            case expired = 5
            /// `amountFen`: the refund's amount; on a refund's own record, its original's total.
            case refunded = 6
            /// `detail`: NetsUnion's status (0, 1, 3, 4) in the low 4 bits, the correction made
            /// (``correctionTag(_:)``) in the high 4; `amountFen`: its amount; `extra`: the
            /// batch's 12 digits.
            case reconciled = 7
            case challenged = 8
            case verified = 9

            var name: String {
                switch self {
                case .authorized: "authorized"
                case .declined: "declined"
                case .confirmed: "confirmed"
                case .released: "released"
                case .expired: "expired"
                case .refunded: "refunded"
                case .reconciled: "reconciled"
                case .challenged: "challenged"
                case .verified: "verified"
                }
            }
        }

        /// The stored numbers of ``ReconcileResult/Correction``: never renumbered.
        static let corrections: [ReconcileResult.Correction] = [.confirmed, .recounted, .givenBack, .unknownToBank, .unchanged]

        static func correctionTag(_ correction: ReconcileResult.Correction) -> UInt8 {
            UInt8(corrections.firstIndex(of: correction).map { $0 + 1 } ?? 0)
        }

        /// A reconciled event's status and correction.
        var reconciliation: (status: ReconciliationStatus?, correction: ReconcileResult.Correction?) {
            let tag = Int(detail >> 4)
            return (ReconciliationStatus(rawValue: detail & 0x0F), tag >= 1 && tag <= Self.corrections.count ? Self.corrections[tag - 1] : nil)
        }

        static let byteCount = 26

        var kind: Kind
        var detail: UInt8 = 0
        var time: Int64
        var amountFen: Int64 = 0
        var extra: Int64 = 0

        func encode(into w: inout ByteWriter) {
            w.u8(kind.rawValue)
            w.u8(detail)
            w.i64(time)
            w.i64(amountFen)
            w.i64(extra)
        }

        /// Appends the event's bytes to `bytes` (a record being rewritten in place).
        func append(to bytes: inout [UInt8]) {
            var w = ByteWriter()
            swap(&w.bytes, &bytes)
            encode(into: &w)
            swap(&w.bytes, &bytes)
        }

        static func decode(_ r: inout ByteReader) -> Event? {
            guard let kind = r.u8().flatMap(Kind.init(rawValue:)), let detail = r.u8(), let time = r.i64(),
                  let amount = r.i64(), let extra = r.i64() else { return nil }
            return Event(kind: kind, detail: detail, time: time, amountFen: amount, extra: extra)
        }
    }

    var kind: Kind
    var state: State
    var fingerprint: UInt64
    var time: Timestamp
    var amountFen: Int64
    /// Payments: the sum of their refunds. Refunds: the original's refunded total after this one.
    var refundedFen: Int64
    var ruleSetVersion: UInt32
    /// Unix seconds (engine clock) when an authorized payment's reservation expires; 0 when it
    /// holds none or never expires. While it is set, the `expiry` table indexes it.
    var heldUntil: Int64 = 0
    /// Payments recorded by this version; `nil` for refunds and migrated records.
    var subject: Subject?
    /// Payments: the first answer. Refunds: unused (an approval).
    var decision: Decision
    /// The cells an approved payment reserved on, in plan order.
    var counters: [CounterUpdate]
    /// Refunds: the id of the payment refunded.
    var original: String?
    /// Its history, oldest first (empty for records migrated from before 0.11).
    var events: [Event] = []

    /// Payments stay live (holding limit) while authorized or confirmed.
    /// When a challenged payment's hold ends; `nil` for any other state.
    var challengeEnds: Int64? { state == .challenged && heldUntil != 0 ? heldUntil : nil }

    var holdsLimit: Bool { kind == .payment && (state == .authorized || state == .confirmed || state == .challenged) }

    /// What a live payment of `amountFen` (its own amount by default) holds on a cell it
    /// reserved on: the amount less its refunds where the cell's limit gives refunds back, and
    /// a count of one, none once such a cell has it refunded in full.
    func held(on update: CounterUpdate, amountFen: Int64? = nil) -> CounterValue {
        // An attempt counted the amount the payment was judged at, whatever came after.
        if update.countsAttempts { return CounterValue(amountFen: events.first?.amountFen ?? self.amountFen, count: 1) }
        let amount = amountFen ?? self.amountFen
        guard update.refundRestores else { return CounterValue(amountFen: amount, count: 1) }
        return CounterValue(amountFen: amount - refundedFen, count: refundedFen == amount ? 0 : 1)
    }

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
        w.bytes.reserveCapacity(260 + counters.count * (CounterKey.byteCount + 1) + (original?.utf8.count ?? 0)
                                + events.count * Event.byteCount)
        w.u8(Self.version)
        w.u8(kind.rawValue)
        w.u8(state.rawValue)
        w.u64(fingerprint)
        w.i64(time.unixSeconds)
        w.i64(amountFen)
        w.i64(refundedFen)
        w.u32(ruleSetVersion)
        w.i64(heldUntil)
        if let subject {
            w.u8(1)
            w.u64(subject.card.high)
            w.u64(subject.card.low)
            w.u64(subject.institution.high)
            w.u64(subject.institution.low)
            w.u8(subject.business.rawValue)
            w.u8(subject.accountClass.rawValue)
            w.u8(subject.channel.map { $0.rawValue + 1 } ?? 0)
            w.u8(subject.accountType.map { $0.rawValue + 1 } ?? 0)
        } else {
            w.u8(0)
        }
        Self.encode(decision, into: &w)
        precondition(counters.count <= Int(UInt8.max))
        w.u8(UInt8(counters.count))
        for update in counters {
            update.key.withBytes { w.raw($0) }
            w.u8(update.countsAttempts ? 2 : update.refundRestores ? 1 : 0)
        }
        w.string(original ?? "")
        for event in events { event.encode(into: &w) }
    }

    init(kind: Kind, state: State, fingerprint: UInt64, time: Timestamp, amountFen: Int64, refundedFen: Int64,
         ruleSetVersion: UInt32, heldUntil: Int64 = 0, subject: Subject? = nil, decision: Decision,
         counters: [CounterUpdate], original: String?, events: [Event] = []) {
        self.kind = kind
        self.state = state
        self.fingerprint = fingerprint
        self.time = time
        self.amountFen = amountFen
        self.refundedFen = refundedFen
        self.ruleSetVersion = ruleSetVersion
        self.heldUntil = heldUntil
        self.subject = subject
        self.decision = decision
        self.counters = counters
        self.original = original
        self.events = events
    }

    /// Decodes a record; `nil` when the bytes are not a record of this version.
    init?(bytes: UnsafeRawBufferPointer) {
        self.init(bytes: bytes, version: Self.version)
    }

    /// Decodes a record of Headroom 0.9 (version 1) or 0.10 (version 2), to migrate it.
    init?(olderVersion bytes: UnsafeRawBufferPointer) {
        guard let first = bytes.first, first == 1 || first == 2 else { return nil }
        self.init(bytes: bytes, version: first)
    }

    private init?(bytes: UnsafeRawBufferPointer, version recordVersion: UInt8) {
        var r = ByteReader(bytes)
        guard r.u8() == recordVersion,
              let kind = r.u8().flatMap(Kind.init(rawValue:)),
              let state = r.u8().flatMap(State.init(rawValue:)),
              let fingerprint = r.u64(), let seconds = r.i64(), let amount = r.i64(), let refunded = r.i64(),
              let version = r.u32() else { return nil }
        var heldUntil: Int64 = 0
        var subject: Subject?
        if recordVersion >= 3 {
            guard let held = r.i64(), let present = r.u8() else { return nil }
            heldUntil = held
            if present == 1 {
                guard let high = r.u64(), let low = r.u64(), let iHigh = r.u64(), let iLow = r.u64(),
                      let business = r.u8().flatMap(Business.init(rawValue:)),
                      let accountClass = r.u8().flatMap(AccountClass.init(rawValue:)),
                      let channel = r.u8(), let accountType = r.u8() else { return nil }
                subject = Subject(card: CardHash(high: high, low: low), institution: Institution(high: iHigh, low: iLow), business: business,
                                  accountClass: accountClass,
                                  channel: channel == 0 ? nil : Channel(rawValue: channel - 1),
                                  accountType: accountType == 0 ? nil : AccountType(rawValue: accountType - 1))
            }
        }
        guard let decision = Self.decodeDecision(&r, version: version), let count = r.u8() else { return nil }
        var counters: [CounterUpdate] = []
        counters.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let keyBytes = r.slice(CounterKey.byteCount), let key = CounterKey(bytes: keyBytes),
                  let restores = r.u8() else { return nil }
            counters.append(CounterUpdate(key: key, refundRestores: restores == 1, countsAttempts: restores == 2))
        }
        guard let original = r.string() else { return nil }
        var events: [Event] = []
        while !r.isAtEnd {
            guard let event = Event.decode(&r) else { return nil }
            events.append(event)
        }
        self.init(kind: kind, state: state, fingerprint: fingerprint, time: Timestamp(unixSeconds: seconds),
                  amountFen: amount, refundedFen: refunded, ruleSetVersion: version, heldUntil: heldUntil, subject: subject,
                  decision: decision, counters: counters, original: original.isEmpty ? nil : original, events: events)
    }
}

extension PaymentRecord {
    /// The tags of the kinds of ``Finding``: stored, never renumbered.
    static let noFindingTag: UInt8 = 0
    static let capTag: UInt8 = 1
    static let riskTag: UInt8 = 2

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
        case .risk(let f)?:
            w.u8(riskTag)
            w.string(f.ruleID)
            w.u8(f.action.rawValue)
            w.string(f.list ?? "")
            if let window = f.window { encode(window, into: &w) } else { w.u8(0); w.u32(0) }
            w.u8(f.measure?.rawValue ?? 0)
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
        case riskTag:
            guard let id = r.string(), let action = r.u8().flatMap(RiskAction.init(rawValue:)), let list = r.string(),
                  let windowTag = r.u8(), let n = r.u32(), let measure = r.u8(), let max = r.i64(), let used = r.i64()
            else { return nil }
            var window: Window?
            if windowTag != 0 {
                guard let w = self.window(tag: windowTag, Int(n)) else { return nil }
                window = w
            }
            finding = .risk(RiskFinding(ruleID: id, action: action, list: list.isEmpty ? nil : list, window: window,
                                        measure: Measure(rawValue: measure), max: max, used: used))
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
        return window(tag: tag, n)
    }

    static func window(tag: UInt8, _ n: Int) -> Window? {
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
