import HeadroomCore
import LMDBKit

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

    static let schemaVersion: UInt32 = 1

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
    func add(_ txn: borrowing Transaction, _ key: CounterKey, amountFen: Int64, count: Int64) throws(HeadroomError) {
        let current = try counter(txn, key)
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

    func record(_ txn: borrowing Transaction, id: String) throws(HeadroomError) -> PaymentRecord? {
        let bytes: [UInt8]?
        do {
            bytes = try txn.get(payments, key: Array(id.utf8))
        } catch {
            throw .storage(error)
        }
        guard let bytes else { return nil }
        guard let record = bytes.withUnsafeBytes({ PaymentRecord(bytes: $0) }) else {
            throw HeadroomError(.corrupted, "the record of \(id) does not decode")
        }
        return record
    }

    func put(_ txn: borrowing Transaction, id: String, _ record: PaymentRecord) throws(HeadroomError) {
        writes.count &+= 1
        let bytes = record.encoded()
        if writes.capturing { writes.effects.record(id: id, bytes) }
        do {
            try txn.put(payments, key: Array(id.utf8), value: bytes)
        } catch {
            throw .storage(error)
        }
    }

    /// Writes a record's bytes as they are (replaying a journal; they were checked when written).
    func putRaw(_ txn: borrowing Transaction, id: String, _ bytes: UnsafeRawBufferPointer) throws(HeadroomError) {
        guard PaymentRecord(bytes: bytes) != nil else {
            throw HeadroomError(.corrupted, "the journal's record of \(id) does not decode")
        }
        do {
            try txn.put(payments, key: Array(id.utf8), value: Array(bytes))
        } catch {
            throw .storage(error)
        }
    }

    // MARK: Card limits

    static func cardKey(_ card: CardHash, _ institution: Institution?) -> [UInt8] {
        var w = ByteWriter()
        let inst = institution ?? Institution.ungrouped
        for word in [card.high, card.low, inst.high, inst.low] { w.u64(word.bigEndian) }
        return w.bytes
    }

    func cardLimits(_ txn: borrowing Transaction, _ card: CardHash, _ institution: Institution?) throws(HeadroomError) -> CardLimits? {
        let bytes: [UInt8]?
        do {
            bytes = try txn.get(cards, key: Store.cardKey(card, institution))
        } catch {
            throw .storage(error)
        }
        guard let bytes else { return nil }
        guard let limits = bytes.withUnsafeBytes({ CardLimits(encoded: $0) }) else {
            throw HeadroomError(.corrupted, "a card limit record does not decode")
        }
        return limits
    }

    // MARK: Meta

    func metaBytes(_ txn: borrowing Transaction, _ name: String) throws(HeadroomError) -> [UInt8]? {
        do {
            return try txn.get(meta, key: Array(name.utf8))
        } catch {
            throw .storage(error)
        }
    }

    func putMeta(_ txn: borrowing Transaction, _ name: String, _ value: [UInt8]) throws(HeadroomError) {
        do {
            try txn.put(meta, key: Array(name.utf8), value: value)
        } catch {
            throw .storage(error)
        }
    }

    func metaInteger(_ txn: borrowing Transaction, _ name: String) throws(HeadroomError) -> Int64? {
        guard let bytes = try metaBytes(txn, name) else { return nil }
        guard bytes.count == 8 else { throw HeadroomError(.corrupted, "meta \(name) is not 8 bytes") }
        return bytes.withUnsafeBytes { $0.loadUnaligned(as: Int64.self) }
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
    /// Set when another process journals this store (decision 0009): every write transaction
    /// is refused with this message.
    var refusal: String?
}
