import HeadroomCore
import LMDBKit
import Logging

/// The seven named databases of a store. Their numbers are written in journal entries: never
/// renumbered.
enum Table: UInt8, CaseIterable, Sendable {
    /// ``CounterKey`` (45 bytes) -> ``CounterValue`` (16 bytes).
    case counters = 1
    /// A payment id's bytes -> ``PaymentRecord``.
    case payments = 2
    /// Card hash (16) + institution (16, zero for all institutions) -> ``CardLimits`` (32).
    case cards = 3
    /// ``MetaKey`` -> schema, card-key check, rule sets, audit log, purge horizon, journal facts.
    case meta = 4
    /// Due time (unix seconds, u64 big-endian) + a payment id's bytes -> nothing: the authorized
    /// payments whose hold time runs out then, in due order.
    case expiry = 5
    /// Risk lists (decision 0017): name + 0 -> the list's field; name + 0 + 1 + identity (16)
    /// -> an entry; name + 0 + 2 + identity -> a removal awaiting a second operator.
    case lists = 6
    /// Agreement identity (a keyed hash, 16) -> ``AgreementRecord``.
    case agreements = 7

    var name: String {
        switch self {
        case .counters: "counters"
        case .payments: "payments"
        case .cards: "cards"
        case .meta: "meta"
        case .expiry: "expiry"
        case .lists: "lists"
        case .agreements: "agreements"
        }
    }
}

/// A transaction on a store: the one way Headroom reads and writes it (decision 0014).
///
/// Every put and delete goes through ``put(_:key:value:)`` or ``delete(_:key:)``, which count
/// it (group commit tells from the count whether a refused operation wrote anything) and,
/// while a journaling committer captures, record it in the ``EffectLog`` as the bytes written:
/// whatever the engine stores, in any table, is journaled and recovered without code of its
/// own. Beginning a write transaction applies what a crashed journaling process answered
/// (``Store/beginWrite(applyingJournal:)``); committing tidies that journal.
///
/// Write-behind (decision 0019) makes two more kinds: the writer's, over a read snapshot of
/// LMDB and an ``Overlay`` (reads look in the overlay first; writes go to the overlay, never
/// to LMDB), and the apply thread's, which writes LMDB without counting or capturing (the
/// writer thread owns the ``WriteLog``).
///
/// Owned like LMDB's transaction: ``commit()`` consumes it, and one dropped is aborted.
struct StoreTransaction: ~Copyable {
    private let raw: Transaction
    let store: Store
    /// Write-behind's writer: the overlay over the snapshot `raw`.
    private let overlay: Overlay?
    /// Write-behind's apply thread: writes are neither counted nor captured.
    private let quiet: Bool

    init(_ raw: consuming Transaction, _ store: Store, overlay: Overlay? = nil, quiet: Bool = false) {
        self.raw = raw
        self.store = store
        self.overlay = overlay
        self.quiet = quiet
    }

    var isReadOnly: Bool { raw.isReadOnly && overlay == nil }

    /// Makes every change durable (as the environment syncs) and ends the transaction; then
    /// empties a journal whose entries it applied, when no journal runs.
    consuming func commit() throws(HeadroomError) {
        let store = self.store
        do {
            try raw.commit()  // consumed: not in a closure
        } catch {
            throw .storage(error)
        }
        store.follower.committed()
    }

    /// Drops every change and ends the transaction.
    consuming func abort() {
        raw.abort()
    }

    // MARK: Reading

    /// The value under `key`, read in place: valid until the transaction writes or ends.
    func get(_ table: Table, key: UnsafeRawBufferPointer) throws(HeadroomError) -> UnsafeRawBufferPointer? {
        if let overlay {
            switch overlay.lookup(table, key: key) {
            case .value(let value): return value
            case .deleted: return nil
            case .absent: break
            }
        }
        return try lmdb { () throws(LMDBError) in try raw.get(store.database(table), key: key) }
    }

    /// The value under `key` (given as an array), read in place like the other `get`.
    func get(_ table: Table, key: [UInt8]) throws(HeadroomError) -> UnsafeRawBufferPointer? {
        try withBytes(key) { (k) throws(HeadroomError) in try get(table, key: k) }
    }

    /// How many entries `table` holds.
    func count(_ table: Table) throws(HeadroomError) -> Int {
        var count = try lmdb { () throws(LMDBError) in try raw.entryCount(store.database(table)) }
        try overlay?.forEachKey(table) { (key, deleted) throws(HeadroomError) in
            let inSnapshot = try lmdb { () throws(LMDBError) in try raw.get(store.database(table), key: key) } != nil
            if deleted && inSnapshot { count -= 1 } else if !deleted && !inSnapshot { count += 1 }
        }
        return count
    }

    /// Calls `body` with every entry of `table` from the first key at or after `start` (from
    /// the first key when `nil`) while `body` answers `true`.
    func scan(_ table: Table, from start: [UInt8]? = nil,
              _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(HeadroomError) -> Bool) throws(HeadroomError) {
        if let overlay { return try mergedScan(overlay, table, from: start, body) }
        try typed {
            try raw.withCursor(store.database(table)) { cursor in
                var entry = try start.map { s in try s.withUnsafeBytes { try cursor.seek(atOrAfter: $0) } } ?? cursor.first()
                while let (key, value) = entry, try body(key, value) {
                    entry = try cursor.next()
                }
            }
        }
    }

    /// The overlay's live entries and the snapshot's, merged in key order; a key the overlay
    /// holds (a value or a tombstone) hides the snapshot's. `body` must not write.
    private func mergedScan(_ overlay: Overlay, _ table: Table, from start: [UInt8]?,
                            _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(HeadroomError) -> Bool) throws(HeadroomError) {
        var run = start.map { s in s.withUnsafeBytes { overlay.liveInOrder(table, from: $0) } } ?? overlay.liveInOrder(table, from: nil)
        try typed {
            try raw.withCursor(store.database(table)) { cursor in
                var below = try start.map { s in try s.withUnsafeBytes { try cursor.seek(atOrAfter: $0) } } ?? cursor.first()
                while true {
                    while let (key, _) = below, overlay.holds(table, key: key) { below = try cursor.next() }
                    let above = overlay.entry(run)
                    if let (key, value) = below, above.map({ Overlay.compare(key, $0.key) < 0 }) ?? true {
                        guard try body(key, value) else { return }
                        below = try cursor.next()
                    } else if let (key, value) = above {
                        guard try body(key, value) else { return }
                        run.index += 1
                    } else {
                        return
                    }
                }
            }
        }
    }

    // MARK: Writing: every write of a store passes here

    /// Stores `value` under `key`, replacing what was there: counted, and captured when
    /// journaling.
    func put(_ table: Table, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws(HeadroomError) {
        try requireWritable()
        if let overlay {
            try overlay.write(table, key: key, value: value)
        } else {
            try lmdb { () throws(LMDBError) in try raw.put(store.database(table), key: key, value: value) }
        }
        guard !quiet else { return }
        let log = store.log
        log.count &+= 1
        if log.capturing { log.effects.put(table, key: key, value: value) }
    }

    func put(_ table: Table, key: [UInt8], value: [UInt8]) throws(HeadroomError) {
        try withBytes(key) { (k) throws(HeadroomError) in
            try withBytes(value) { (v) throws(HeadroomError) in try put(table, key: k, value: v) }
        }
    }

    /// Removes `key`; answers whether it was there (counted and captured only then).
    @discardableResult
    func delete(_ table: Table, key: UnsafeRawBufferPointer) throws(HeadroomError) -> Bool {
        try requireWritable()
        let removed: Bool
        if let overlay {
            removed = try get(table, key: key) != nil
            if removed { try overlay.write(table, key: key, value: nil) }
        } else {
            removed = try lmdb { () throws(LMDBError) in try raw.delete(store.database(table), key: key) }
        }
        if removed && !quiet {
            let log = store.log
            log.count &+= 1
            if log.capturing { log.effects.delete(table, key: key) }
        }
        return removed
    }

    @discardableResult
    func delete(_ table: Table, key: [UInt8]) throws(HeadroomError) -> Bool {
        try withBytes(key) { (k) throws(HeadroomError) in try delete(table, key: k) }
    }

    /// Removes every entry of `table` for which `predicate` holds; answers how many.
    func deleteWhere(_ table: Table, _ predicate: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool) throws(HeadroomError) -> Int {
        try requireWritable()
        if overlay != nil {
            var doomed: [[UInt8]] = []
            try scan(table) { (key, value) throws(HeadroomError) in
                if predicate(key, value) { doomed.append(Array(key)) }
                return true
            }
            for key in doomed { try delete(table, key: key) }
            return doomed.count
        }
        let log = store.log
        return try typed {
            try raw.withCursor(store.database(table)) { cursor in
                var removed = 0
                var entry = try cursor.first()
                while let (key, value) = entry {
                    if predicate(key, value) {
                        if !quiet { log.count &+= 1 }
                        if log.capturing && !quiet { log.effects.delete(table, key: key) }  // copied before the delete
                        // After mdb_cursor_del, MDB_NEXT yields the entry that followed.
                        try cursor.deleteCurrent()
                        removed += 1
                    }
                    entry = try cursor.next()
                }
                return removed
            }
        }
    }

    private func requireWritable() throws(HeadroomError) {
        guard !isReadOnly else { throw HeadroomError(.readOnlyStore, "a write in a read transaction") }
    }

    // MARK: Journal

    /// Writes again, in this transaction, what an entry's payload recorded.
    func apply(_ payload: [UInt8]) throws(HeadroomError) {
        try withBytes(payload) { (raw) throws(HeadroomError) in try apply(raw) }
    }

    func apply(_ payload: UnsafeRawBufferPointer) throws(HeadroomError) {
        try EffectLog.forEach(payload) { (item) throws(HeadroomError) in
            switch item {
            case .put(let table, let key, let value): try put(table, key: key, value: value)
            case .delete(let table, let key): try delete(table, key: key)
            }
        }
    }
}

/// Runs an LMDBKit call, its failure said as the engine's `storage` error: the one place that
/// turns LMDB's errors into Headroom's.
@inline(__always)
func lmdb<R: ~Copyable>(_ body: () throws(LMDBError) -> R) throws(HeadroomError) -> R {
    do {
        return try body()
    } catch {
        throw .storage(error)
    }
}

extension Store {
    /// Opens the store in `path` (creating its databases when the environment may write).
    static func open(_ path: String, _ options: Environment.Options) throws(HeadroomError) -> Store {
        try lmdb { () throws(LMDBError) in try Store(environment: try Environment(path: path, options: options)) }
    }
}

/// LMDBKit's cursor calls throw untyped: their errors are LMDB's (or ours, from a body).
private func typed<R>(_ body: () throws -> R) throws(HeadroomError) -> R {
    do {
        return try body()
    } catch let error as HeadroomError {
        throw error
    } catch let error as LMDBError {
        throw .storage(error)
    } catch {
        throw HeadroomError(.storage, "\(error)")
    }
}

/// Lends the bytes of an array, with typed throws.
func withBytes<R>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(HeadroomError) -> R) throws(HeadroomError) -> R {
    let result: Result<R, HeadroomError> = bytes.withUnsafeBytes { raw in
        Result { () throws(HeadroomError) in try body(raw) }
    }
    return try result.get()
}

/// What the writes of a store's writing thread leave behind: how many, and (journaling) what.
final class WriteLog: @unchecked Sendable {
    // @unchecked: only the thread that writes the store (one at a time: LMDB's write lock)
    // reads or changes it.

    /// How many puts and deletes were made: group commit compares it before and after an
    /// operation to tell whether a refused operation wrote anything.
    var count = 0
    /// Journaling: every put and delete is also added to `effects`.
    var capturing = false
    var effects = EffectLog()
    /// The buffer a value (a payment record) is encoded into before it is written, reused
    /// from one write to the next (the hot path allocates nothing for it once it has grown).
    var valueBuffer: [UInt8] = []
}

/// The writes of a batch, as a journal entry holds them (decision 0014): every put and delete,
/// in order, as the bytes written. Applying them again, on the store as the last checkpoint
/// left it, reproduces those writes exactly, whatever rules or clock are in force then: the
/// journal holds what was decided, not the requests, and needs no code for what is written.
///
///     1 table(u8) keyLength(u16) key valueLength(u32) value   a put
///     2 table(u8) keyLength(u16) key                          a delete
struct EffectLog {
    var bytes: [UInt8] = []

    static let putTag: UInt8 = 1
    static let deleteTag: UInt8 = 2

    mutating func put(_ table: Table, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        head(Self.putTag, table, key)
        withUnsafeBytes(of: UInt32(value.count)) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: value)
    }

    mutating func delete(_ table: Table, key: UnsafeRawBufferPointer) {
        head(Self.deleteTag, table, key)
    }

    private mutating func head(_ tag: UInt8, _ table: Table, _ key: UnsafeRawBufferPointer) {
        precondition(key.count <= Int(UInt16.max))
        bytes.append(tag)
        bytes.append(table.rawValue)
        withUnsafeBytes(of: UInt16(key.count)) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: key)
    }

    /// One decoded item; its bytes point into the payload.
    enum Item {
        case put(Table, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)
        case delete(Table, key: UnsafeRawBufferPointer)
    }

    /// Calls `body` with every item of `payload`, in order.
    /// - Throws: `corrupted` when the payload does not decode (a checksum passed, so this is a bug
    ///   or another program's file, never a torn write).
    static func forEach(_ payload: [UInt8], _ body: (Item) throws(HeadroomError) -> Void) throws(HeadroomError) {
        try withBytes(payload) { (raw) throws(HeadroomError) in try forEach(raw, body) }
    }

    static func forEach(_ raw: UnsafeRawBufferPointer, _ body: (Item) throws(HeadroomError) -> Void) throws(HeadroomError) {
        do {
            var r = ByteReader(raw)
            while !r.isAtEnd {
                guard let tag = r.u8(), let table = r.u8().flatMap(Table.init(rawValue:)),
                      let keyCount = r.u16(), let key = r.slice(Int(keyCount)) else {
                    throw HeadroomError(.corrupted, "a journal item does not decode")
                }
                switch tag {
                case putTag:
                    guard let valueCount = r.u32(), let value = r.slice(Int(valueCount)) else {
                        throw HeadroomError(.corrupted, "a journal put does not decode")
                    }
                    try body(.put(table, key: key, value: value))
                case deleteTag:
                    try body(.delete(table, key: key))
                default:
                    throw HeadroomError(.corrupted, "a journal item has an unknown tag \(tag)")
                }
            }
        }
    }
}

extension Store {
    /// Begins a write transaction. Unless `applyingJournal` is false (or this engine journals
    /// itself), it first applies what a journaling committer in another process answered and
    /// did not checkpoint before it crashed (``applyJournal(_:_:holdingLock:)``; one read of 24
    /// bytes when there is nothing, the usual case), so that nothing is decided without those
    /// payments.
    func beginWrite(applyingJournal: Bool = true) throws(HeadroomError) -> StoreTransaction {
        guard !environment.options.readOnly else {
            throw HeadroomError(.readOnlyStore, "the store \(environment.path) is open for reading only")
        }
        let txn = StoreTransaction(try lmdb { () throws(LMDBError) in try environment.beginWrite() }, self)
        if applyingJournal, let journal = follower.journal {
            let ringApplied = try followRing(txn, journal)
            if ringApplied > 0 {
                follower.logger?.warning("applied what a stopped write-behind engine had answered", metadata: ["entries": "\(ringApplied)"])
            }
            let (applied, torn) = try applyJournal(txn, journal)
            if applied > 0 || torn {
                follower.logger?.warning("applied what a stopped journaling process had answered",
                                         metadata: ["entries": "\(applied)", "torn entry dropped": "\(torn)"])
                follower.toTidy = true
            }
        }
        return txn
    }

    func beginRead() throws(HeadroomError) -> StoreTransaction {
        StoreTransaction(try lmdb { () throws(LMDBError) in try environment.beginRead() }, self)
    }

    /// Write-behind's writer: a read snapshot with `overlay` over it, written through the overlay.
    func beginOverlaid(_ overlay: Overlay) throws(HeadroomError) -> StoreTransaction {
        StoreTransaction(try lmdb { () throws(LMDBError) in try environment.beginRead() }, self, overlay: overlay)
    }

    /// Write-behind's apply thread: a write transaction whose writes are neither counted nor
    /// captured, and that applies no journal (the ring it applies is its own).
    func beginApplying() throws(HeadroomError) -> StoreTransaction {
        StoreTransaction(try lmdb { () throws(LMDBError) in try environment.beginWrite() }, self, quiet: true)
    }
}

/// What the write transactions of an engine that does not journal do about the store's
/// journal, which another process may run or may have left (decisions 0009, 0012).
final class JournalFollower: @unchecked Sendable {
    // @unchecked: only the engine's writing thread reads or changes it (`journal` is set at
    // open, and by a committer before and after it runs).

    /// The store's journal, for write transactions to apply what a crashed journaling process
    /// left; `nil` while this engine journals itself (its entries are its own).
    var journal: JournalFile?
    /// Where that is said.
    var logger: Logger?
    /// Entries were applied in a transaction not yet committed: once one commits, a journal
    /// that no process runs is emptied (``committed()``), never before (an aborted
    /// transaction must find them again).
    var toTidy = false
    /// The first and last lsn of the entries the journal held when last read, to skip reading
    /// them again while the store holds them all.
    var seen: (first: UInt64, last: UInt64)?

    /// A write transaction committed: empties the journal whose entries it applied, when no
    /// journal runs (one that runs empties it itself). Tidying only: a failure here changes
    /// nothing committed.
    func committed() {
        guard toTidy, let journal else { return }
        toTidy = false
        if journal.tryExclusive() {
            defer { journal.unlock() }
            try? journal.empty()
        }
    }
}
