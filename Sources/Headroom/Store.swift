import HeadroomCore
import LMDBKit
import Logging

/// The LMDB layout of a Headroom store. Four named databases:
///
/// - `counters`: ``CounterKey`` (45 bytes) -> ``CounterValue`` (16 bytes)
/// - `payments`: the id's bytes -> ``PaymentRecord``
/// - `cards`: card hash (16) + institution (16, zero for all institutions) -> ``CardLimits`` (32)
/// - `meta`: schema version, card-key check value, rule sets, purge horizon
struct Store {
    let environment: Environment
    let counters: Database
    let payments: Database
    let cards: Database
    let meta: Database
    /// What the engine's writing thread keeps about its writes: how many, and (journaling) what.
    let writes = WriteState()

    /// 2: counter keys card first (decision 0011); a version-1 store is refused.
    static let schemaVersion: UInt32 = 2

    init(environment: Environment) throws(LMDBError) {
        self.environment = environment
        self.counters = try environment.openDatabase(named: "counters")
        self.payments = try environment.openDatabase(named: "payments")
        self.cards = try environment.openDatabase(named: "cards")
        self.meta = try environment.openDatabase(named: "meta")
    }

    // MARK: Counters

    /// What a counter cell holds (zero when absent).
    func counter(_ txn: borrowing Transaction, _ key: CounterKey) throws(HeadroomError) -> CounterValue {
        let found: UnsafeRawBufferPointer?
        do {
            found = try lmdbTyped { try key.withBytes { k in try txn.get(counters, key: k) } }
        } catch {
            throw .storage(error)
        }
        guard let found else { return .zero }
        guard let value = CounterValue(bytes: found) else {
            throw HeadroomError(.corrupted, "counter cell of \(found.count) bytes, expected 16")
        }
        return value
    }

    /// What a window held: one cell, or for a rolling window the sum of its buckets.
    func usage(_ txn: borrowing Transaction, _ key: CounterKey, buckets: Int) throws(HeadroomError) -> CounterValue {
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
    func add(_ txn: borrowing Transaction, _ key: CounterKey, amountFen: Int64, count: Int64,
             current known: CounterValue? = nil) throws(HeadroomError) {
        let current: CounterValue
        if let known { current = known } else { current = try counter(txn, key) }
        guard let next = current.adding(amountFen: amountFen, count: count) else {
            throw HeadroomError(.counterOverflow, "a counter cell would overflow")
        }
        guard next.amountFen >= 0, next.count >= 0 else {
            throw HeadroomError(.corrupted, "a counter cell would go negative (\(next.amountFen) fen, \(next.count) payments)")
        }
        writes.count &+= 1
        if writes.capturing { writes.effects.counter(key, amountFen: amountFen, count: count) }
        do {
            try lmdbTyped {
                try key.withBytes { k in
                    if next.isZero {
                        try txn.delete(counters, key: k)
                    } else {
                        try next.withBytes { v in try txn.put(counters, key: k, value: v) }
                    }
                }
            }
        } catch {
            throw .storage(error)
        }
    }

    // MARK: Records

    /// The value under a text key, read in place (valid until the transaction writes or ends):
    /// the key is lent from the string's own UTF-8, nothing is copied.
    func value(_ txn: borrowing Transaction, _ db: Database, _ key: String) throws(HeadroomError) -> UnsafeRawBufferPointer? {
        var key = key
        do {
            return try lmdbTyped { try key.withUTF8 { try txn.get(db, key: UnsafeRawBufferPointer($0)) } }
        } catch {
            throw .storage(error)
        }
    }

    func record(_ txn: borrowing Transaction, id: String) throws(HeadroomError) -> PaymentRecord? {
        guard let bytes = try value(txn, payments, id) else { return nil }
        guard let record = PaymentRecord(bytes: bytes) else {
            throw HeadroomError(.corrupted, "the record of \(id) does not decode")
        }
        return record
    }

    func put(_ txn: borrowing Transaction, id: String, _ record: PaymentRecord) throws(HeadroomError) {
        try putRecord(txn, id: id) { record.encode(into: &$0) }
    }

    /// Writes the record of `id` that `fill` puts into the writer's record buffer (borrowed for
    /// this write, given back after it): counted, and captured when journaling.
    private func putRecord(_ txn: borrowing Transaction, id: String, _ fill: (inout [UInt8]) -> Void) throws(HeadroomError) {
        writes.count &+= 1
        var bytes: [UInt8] = []
        swap(&bytes, &writes.record)
        defer { swap(&bytes, &writes.record) }
        fill(&bytes)
        if writes.capturing { writes.effects.record(id: id, bytes) }
        try put(txn, payments, id, bytes)
    }

    /// Sets the state of the record of `id`, once `check` has accepted its kind and state: the
    /// stored bytes are copied as they are into the writer's buffer, the state byte changed, and
    /// written back; nothing is decoded or allocated. Answers `false` (calling nothing) when
    /// there is no record.
    func setState(_ txn: borrowing Transaction, id: String, to state: PaymentRecord.State,
                  _ check: (PaymentRecord.Kind, PaymentRecord.State) throws(HeadroomError) -> Void) throws(HeadroomError) -> Bool {
        guard let found = try value(txn, payments, id) else { return false }
        guard let header = PaymentRecord.header(found) else {
            throw HeadroomError(.corrupted, "the record of \(id) does not decode")
        }
        try check(header.kind, header.state)
        try putRecord(txn, id: id) { bytes in
            bytes.removeAll(keepingCapacity: true)
            bytes.append(contentsOf: found)  // copied before the write ends its validity
            bytes[PaymentRecord.stateOffset] = state.rawValue
        }
        return true
    }

    /// Writes a record's bytes as they are (replaying a journal; they were checked when written).
    func putRaw(_ txn: borrowing Transaction, id: String, _ bytes: UnsafeRawBufferPointer) throws(HeadroomError) {
        guard PaymentRecord(bytes: bytes) != nil else {
            throw HeadroomError(.corrupted, "the journal's record of \(id) does not decode")
        }
        try put(txn, payments, id, Array(bytes))
    }

    private func put(_ txn: borrowing Transaction, _ db: Database, _ key: String, _ bytes: [UInt8]) throws(HeadroomError) {
        var key = key
        do {
            try lmdbTyped {
                try key.withUTF8 { k in try bytes.withUnsafeBytes { v in try txn.put(db, key: UnsafeRawBufferPointer(k), value: v) } }
            }
        } catch {
            throw .storage(error)
        }
    }

    // MARK: Card limits

    static func cardKey(_ card: CardHash, _ institution: Institution?) -> [UInt8] {
        withCardKey(card, institution) { Array($0) }
    }

    /// Lends the 32 key bytes of a card's limits, built on the stack, to `body`.
    static func withCardKey<R>(_ card: CardHash, _ institution: Institution?, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let inst = institution ?? Institution.ungrouped
        return try withUnsafeTemporaryAllocation(byteCount: 32, alignment: 8) { buffer in
            buffer.storeBytes(of: card.high.bigEndian, toByteOffset: 0, as: UInt64.self)
            buffer.storeBytes(of: card.low.bigEndian, toByteOffset: 8, as: UInt64.self)
            buffer.storeBytes(of: inst.high.bigEndian, toByteOffset: 16, as: UInt64.self)
            buffer.storeBytes(of: inst.low.bigEndian, toByteOffset: 24, as: UInt64.self)
            return try body(UnsafeRawBufferPointer(buffer))
        }
    }

    func cardLimits(_ txn: borrowing Transaction, _ card: CardHash, _ institution: Institution?) throws(HeadroomError) -> CardLimits? {
        let found: UnsafeRawBufferPointer?
        do {
            found = try lmdbTyped { try Store.withCardKey(card, institution) { k in try txn.get(cards, key: k) } }
        } catch {
            throw .storage(error)
        }
        guard let found else { return nil }
        guard let limits = CardLimits(encoded: found) else {
            throw HeadroomError(.corrupted, "a card limit record does not decode")
        }
        return limits
    }

    // MARK: Meta

    func metaBytes(_ txn: borrowing Transaction, _ name: String) throws(HeadroomError) -> [UInt8]? {
        try value(txn, meta, name).map { Array($0) }
    }

    func putMeta(_ txn: borrowing Transaction, _ name: String, _ value: [UInt8]) throws(HeadroomError) {
        try put(txn, meta, name, value)
    }

    func deleteMeta(_ txn: borrowing Transaction, _ name: String) throws(HeadroomError) {
        var key = name
        do {
            _ = try lmdbTyped { try key.withUTF8 { try txn.delete(meta, key: UnsafeRawBufferPointer($0)) } }
        } catch {
            throw .storage(error)
        }
    }

    func metaInteger(_ txn: borrowing Transaction, _ name: String) throws(HeadroomError) -> Int64? {
        guard let bytes = try value(txn, meta, name) else { return nil }
        guard bytes.count == 8 else { throw HeadroomError(.corrupted, "meta \(name) is not 8 bytes") }
        return bytes.loadUnaligned(as: Int64.self)
    }

    func putMetaInteger(_ txn: borrowing Transaction, _ name: String, _ value: Int64) throws(HeadroomError) {
        var w = ByteWriter()
        w.i64(value)
        try putMeta(txn, name, w.bytes)
    }
}

/// What the engine's writing thread keeps about its writes (see ``Store/writes``).
final class WriteState: @unchecked Sendable {
    // @unchecked: only the engine's writing thread reads or changes it (`refusal` is set at
    // open, before any write).

    /// How many puts and deletes went through ``Store/add(_:_:amountFen:count:)`` and
    /// ``Store/put(_:id:_:)``: group commit compares it before and after an operation to tell
    /// whether a refused operation wrote anything.
    var count = 0
    /// Journaling: every counter delta and record written is also added to `effects`.
    var capturing = false
    var effects = EffectLog()
    /// The buffer a payment record is encoded into before it is written, reused from one
    /// write to the next (the hot path allocates nothing for it once it has grown).
    var record: [UInt8] = []
    /// The plan and window usage of the payment being authorized, reused the same way.
    var plan = Plan()
    var usage: [CounterValue] = []
    /// The store's journal, for write transactions to apply what a crashed journaling process
    /// left (``Store/beginWrite(applyingJournal:)``); `nil` while this engine journals itself.
    var journal: JournalFile?
    /// Where that is said.
    var logger: Logger?
    /// Entries were applied in a transaction not yet committed: once one commits, a journal
    /// that no process runs is emptied (``Store/commit(_:)``), never before (an aborted
    /// transaction must find them again).
    var journalToTidy = false
    /// The first and last lsn of the entries the journal held when last read, to skip reading
    /// them again while the store holds them all.
    var journalSeen: (first: UInt64, last: UInt64)?
}
