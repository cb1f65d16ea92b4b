import HeadroomCore
import LMDBKit

/// The LMDB layout of a Headroom store: seven named databases (``Table``), read and written
/// only through a ``StoreTransaction``. The typed reads and writes of what the engine keeps
/// (counter cells, payment records, card limits, meta values) are here, each on top of the
/// transaction's generic `get`, `put` and `delete`.
struct Store {
    let environment: Environment
    private let counters: Database
    private let payments: Database
    private let cards: Database
    private let meta: Database
    /// `nil` only in a store of an older schema opened read-only (which is then refused).
    private let expiry: Database?
    /// `nil` only in a store of an older schema opened read-only (which is then refused).
    private let lists: Database?
    private let agreements: Database?
    /// What the writing thread's writes leave behind: how many, and (journaling) what.
    let log = WriteLog()
    /// What write transactions do about a journal that another process ran (or left).
    let follower = JournalFollower()

    /// 5: risk lists, agreements, challenged payments (decision 0017); 4: hold times, subjects and histories in payment records, and the expiry index (decision
    /// 0015); 3: versioned decisions in payment records (decision 0014); 2: counter keys card
    /// first (decision 0011). A store of another version is refused, naming it (see `store migrate`).
    static let schemaVersion: UInt32 = 5
    /// The older schemas `store migrate` brings to this one, with the release that wrote them.
    static let migratable: [Int64: String] = [2: "0.9", 3: "0.10", 4: "0.12"]

    init(environment: Environment) throws(LMDBError) {
        self.environment = environment
        counters = try environment.openDatabase(named: Table.counters.name)
        payments = try environment.openDatabase(named: Table.payments.name)
        cards = try environment.openDatabase(named: Table.cards.name)
        meta = try environment.openDatabase(named: Table.meta.name)
        // An older schema opened read-only lacks the newer tables: ``checkSchema(_:)`` refuses
        // it before any read of them.
        func newer(_ table: Table) throws(LMDBError) -> Database? {
            do {
                return try environment.openDatabase(named: table.name)
            } catch where environment.options.readOnly && error.code == LMDBError.notFoundCode {
                return nil
            }
        }
        expiry = try newer(.expiry)
        lists = try newer(.lists)
        agreements = try newer(.agreements)
    }

    /// A table's database (stored apart, not in an array: a lookup on the hot path copies
    /// nothing).
    func database(_ table: Table) -> Database {
        switch table {
        case .counters: return counters
        case .payments: return payments
        case .cards: return cards
        case .meta: return meta
        case .expiry:
            guard let expiry else { preconditionFailure("the expiry table of a store whose schema was not checked") }
            return expiry
        case .lists:
            guard let lists else { preconditionFailure("the lists table of a store whose schema was not checked") }
            return lists
        case .agreements:
            guard let agreements else { preconditionFailure("the agreements table of a store whose schema was not checked") }
            return agreements
        }
    }

    // MARK: Counters

    /// What a counter cell holds (zero when absent).
    func counter(_ txn: borrowing StoreTransaction, _ key: CounterKey) throws(HeadroomError) -> CounterValue {
        let found = try key.withBytes { (k) throws(HeadroomError) in try txn.get(.counters, key: k) }
        guard let found else { return .zero }
        guard let value = CounterValue(bytes: found) else {
            throw HeadroomError(.corrupted, "counter cell of \(found.count) bytes, expected 16")
        }
        return value
    }

    /// What a window held: one cell, or for a rolling window the sum of its buckets.
    func usage(_ txn: borrowing StoreTransaction, _ key: CounterKey, buckets: Int) throws(HeadroomError) -> CounterValue {
        if buckets == 1 { return try counter(txn, key) }
        var total = CounterValue.zero
        let first = UInt32(max(0, Int64(key.window) - Int64(buckets - 1)))
        for window in first...key.window {
            var bucket = key
            bucket.window = window
            let value = try counter(txn, bucket)
            guard let sum = total.adding(amountFen: value.amountFen, count: value.count) else {
                throw HeadroomError(.counterOverflow, "a rolling window's sum overflows")
            }
            total = sum
        }
        return total
    }

    /// Adds to a cell (negative to give back); removes the cell when it returns to zero.
    /// `current`: what the cell holds, when the caller has just read it in this transaction.
    func add(_ txn: borrowing StoreTransaction, _ key: CounterKey, amountFen: Int64, count: Int64,
             current known: CounterValue? = nil) throws(HeadroomError) {
        let current: CounterValue
        if let known { current = known } else { current = try counter(txn, key) }
        guard let next = current.adding(amountFen: amountFen, count: count) else {
            throw HeadroomError(.counterOverflow, "a counter cell would overflow")
        }
        guard next.amountFen >= 0, next.count >= 0 else {
            throw HeadroomError(.corrupted, "a counter cell would go negative (\(next.amountFen) fen, \(next.count) payments)")
        }
        try key.withBytes { (k) throws(HeadroomError) in
            if next.isZero {
                try txn.delete(.counters, key: k)
            } else {
                try next.withBytes { (v) throws(HeadroomError) in try txn.put(.counters, key: k, value: v) }
            }
        }
    }

    // MARK: Records

    /// The value under a text key, read in place (valid until the transaction writes or ends):
    /// the key is lent from the string's own UTF-8, nothing is copied.
    func value(_ txn: borrowing StoreTransaction, _ table: Table, _ key: String) throws(HeadroomError) -> UnsafeRawBufferPointer? {
        try withUTF8(key) { (k) throws(HeadroomError) in try txn.get(table, key: k) }
    }

    func record(_ txn: borrowing StoreTransaction, id: String) throws(HeadroomError) -> PaymentRecord? {
        guard let bytes = try value(txn, .payments, id) else { return nil }
        guard let record = PaymentRecord(bytes: bytes) else {
            throw HeadroomError(.corrupted, "the record of \(id) does not decode")
        }
        return record
    }

    func put(_ txn: borrowing StoreTransaction, id: String, _ record: PaymentRecord) throws(HeadroomError) {
        try putRecord(txn, id: id) { record.encode(into: &$0) }
    }

    /// Writes the record of `id` that `fill` puts into the writer's record buffer (borrowed for
    /// this write, given back after it): counted, and captured when journaling.
    private func putRecord(_ txn: borrowing StoreTransaction, id: String, _ fill: (inout [UInt8]) -> Void) throws(HeadroomError) {
        var bytes: [UInt8] = []
        swap(&bytes, &log.valueBuffer)
        defer { swap(&bytes, &log.valueBuffer) }
        fill(&bytes)
        try withUTF8(id) { (k) throws(HeadroomError) in
            try withBytes(bytes) { (v) throws(HeadroomError) in try txn.put(.payments, key: k, value: v) }
        }
    }

    /// Moves the record of `id` to `state`, once `check` has accepted its header: the stored
    /// bytes are copied as they are into the writer's buffer, the state byte changed, the hold
    /// time cleared, `event` appended, and written back; nothing is decoded or allocated.
    /// Answers the header it had (`nil`, calling nothing, when there is no record).
    func transition(_ txn: borrowing StoreTransaction, id: String, to state: PaymentRecord.State, event: PaymentRecord.Event,
                    _ check: (PaymentRecord.Header) throws(HeadroomError) -> Void) throws(HeadroomError) -> PaymentRecord.Header? {
        guard let found = try value(txn, .payments, id) else { return nil }
        guard let header = PaymentRecord.header(found) else {
            throw HeadroomError(.corrupted, "the record of \(id) does not decode")
        }
        try check(header)
        try putRecord(txn, id: id) { bytes in
            bytes.removeAll(keepingCapacity: true)
            bytes.append(contentsOf: found)  // copied before the write ends its validity
            PaymentRecord.transition(&bytes, to: state, appending: event)
        }
        return header
    }

    // MARK: Expiry index

    /// Lends the expiry key of `id` due at `due` (8 + up to 64 bytes, on the stack) to `body`.
    static func withExpiryKey<R>(_ due: Int64, _ id: String, _ body: (UnsafeRawBufferPointer) throws(HeadroomError) -> R) throws(HeadroomError) -> R {
        try withUTF8(id) { (idBytes) throws(HeadroomError) -> R in
            let result: Result<R, HeadroomError> = withUnsafeTemporaryAllocation(byteCount: 8 + idBytes.count, alignment: 8) { buffer in
                buffer.storeBytes(of: UInt64(bitPattern: due).bigEndian, toByteOffset: 0, as: UInt64.self)
                UnsafeMutableRawBufferPointer(rebasing: buffer[8...]).copyMemory(from: idBytes)
                return Result { () throws(HeadroomError) in try body(UnsafeRawBufferPointer(buffer)) }
            }
            return try result.get()
        }
    }

    /// An expiry key's due time; `nil` when it is not an expiry key (too short).
    static func expiryDue(_ key: UnsafeRawBufferPointer) -> Int64? {
        key.count > 8 ? Int64(bitPattern: UInt64(bigEndian: key.loadUnaligned(as: UInt64.self))) : nil
    }

    /// An expiry key's payment id (read only when needed: it is a new string).
    static func expiryID(_ key: UnsafeRawBufferPointer) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: key[min(8, key.count)...]), as: UTF8.self)
    }

    /// Indexes `id` as due to expire at `due`.
    func putExpiry(_ txn: borrowing StoreTransaction, due: Int64, id: String) throws(HeadroomError) {
        try Store.withExpiryKey(due, id) { (k) throws(HeadroomError) in
            try txn.put(.expiry, key: k, value: UnsafeRawBufferPointer(start: nil, count: 0))
        }
    }

    func deleteExpiry(_ txn: borrowing StoreTransaction, due: Int64, id: String) throws(HeadroomError) {
        try Store.withExpiryKey(due, id) { (k) throws(HeadroomError) in _ = try txn.delete(.expiry, key: k) }
    }

    /// The first `limit` entries of the expiry index due at or before `now`, in due order (then
    /// by id). Reads one key when nothing is due.
    func dueExpiries(_ txn: borrowing StoreTransaction, now: Int64, limit: Int) throws(HeadroomError) -> [(due: Int64, id: String)] {
        var due: [(due: Int64, id: String)] = []
        try txn.scan(.expiry) { (key, _) throws(HeadroomError) in
            guard let time = Store.expiryDue(key) else { throw HeadroomError(.corrupted, "an expiry index key of \(key.count) bytes") }
            guard time <= now, due.count < limit else { return false }
            due.append((time, Store.expiryID(key)))
            return true
        }
        return due
    }

    /// How many reservations the expiry index holds, and the earliest due time.
    func expiryFacts(_ txn: borrowing StoreTransaction) throws(HeadroomError) -> (count: Int, earliest: Int64?) {
        var earliest: Int64?
        try txn.scan(.expiry) { (key, _) throws(HeadroomError) in
            earliest = Store.expiryDue(key)
            return false
        }
        return (try txn.count(.expiry), earliest)
    }

    // MARK: Card limits

    static func cardKey(_ card: CardHash, _ institution: Institution?) -> [UInt8] {
        withCardKey(card, institution) { Array($0) }
    }

    /// Lends the 32 key bytes of a card's limits, built on the stack, to `body`.
    static func withCardKey<R, E: Error>(_ card: CardHash, _ institution: Institution?, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let inst = institution ?? Institution.ungrouped
        let result: Result<R, E> = withUnsafeTemporaryAllocation(byteCount: 32, alignment: 8) { buffer in
            buffer.storeBytes(of: card.high.bigEndian, toByteOffset: 0, as: UInt64.self)
            buffer.storeBytes(of: card.low.bigEndian, toByteOffset: 8, as: UInt64.self)
            buffer.storeBytes(of: inst.high.bigEndian, toByteOffset: 16, as: UInt64.self)
            buffer.storeBytes(of: inst.low.bigEndian, toByteOffset: 24, as: UInt64.self)
            return Result { () throws(E) in try body(UnsafeRawBufferPointer(buffer)) }
        }
        return try result.get()
    }

    func cardLimits(_ txn: borrowing StoreTransaction, _ card: CardHash, _ institution: Institution?) throws(HeadroomError) -> CardLimits? {
        let found = try Store.withCardKey(card, institution) { (k) throws(HeadroomError) in try txn.get(.cards, key: k) }
        guard let found else { return nil }
        guard let limits = CardLimits(encoded: found) else {
            throw HeadroomError(.corrupted, "a card limit record does not decode")
        }
        return limits
    }

    // MARK: Meta

    /// Refuses a store of another schema, naming its version (and, for Headroom 0.9's, the
    /// migration); answers whether the store has recorded one (a new store has not).
    @discardableResult
    func checkSchema(_ txn: borrowing StoreTransaction) throws(HeadroomError) -> Bool {
        guard let schema = try metaInteger(txn, .schema) else { return false }
        guard schema != Int64(Store.schemaVersion) else { return true }
        if let release = Store.migratable[schema] {
            throw HeadroomError(.storeNeedsMigration, "the store's schema is version \(schema) (Headroom \(release)); this Headroom reads version \(Store.schemaVersion): back it up, then run headroom store migrate --store DIR")
        }
        throw HeadroomError(.corrupted, "the store's schema is version \(schema); this Headroom reads version \(Store.schemaVersion)")
    }

    func meta(_ txn: borrowing StoreTransaction, _ key: MetaKey) throws(HeadroomError) -> UnsafeRawBufferPointer? {
        try key.withBytes { (k) throws(HeadroomError) in try txn.get(.meta, key: k) }
    }

    func metaBytes(_ txn: borrowing StoreTransaction, _ key: MetaKey) throws(HeadroomError) -> [UInt8]? {
        try meta(txn, key).map { Array($0) }
    }

    func putMeta(_ txn: borrowing StoreTransaction, _ key: MetaKey, _ value: [UInt8]) throws(HeadroomError) {
        try txn.put(.meta, key: key.bytes, value: value)
    }

    func deleteMeta(_ txn: borrowing StoreTransaction, _ key: MetaKey) throws(HeadroomError) {
        try txn.delete(.meta, key: key.bytes)
    }

    func metaInteger(_ txn: borrowing StoreTransaction, _ key: MetaKey) throws(HeadroomError) -> Int64? {
        guard let bytes = try meta(txn, key) else { return nil }
        guard bytes.count == 8 else { throw HeadroomError(.corrupted, "meta \(key.description) is not 8 bytes") }
        return bytes.loadUnaligned(as: Int64.self)
    }

    func putMetaInteger(_ txn: borrowing StoreTransaction, _ key: MetaKey, _ value: Int64) throws(HeadroomError) {
        try putMeta(txn, key, withUnsafeBytes(of: value) { Array($0) })
    }
}

/// Lends a string's UTF-8 bytes (its own storage, nothing copied for a native string).
func withUTF8<R>(_ text: String, _ body: (UnsafeRawBufferPointer) throws(HeadroomError) -> R) throws(HeadroomError) -> R {
    var text = text
    let result: Result<R, HeadroomError> = text.withUTF8 { bytes in
        Result { () throws(HeadroomError) in try body(UnsafeRawBufferPointer(bytes)) }
    }
    return try result.get()
}
