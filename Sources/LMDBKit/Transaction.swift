import CLMDB

/// One LMDB transaction, owned: `commit()` and `abort()` consume it, and a transaction dropped
/// without either is aborted. It must stay on the thread that began it (write transactions)
/// and must never be held across an `await`.
///
/// Values returned by ``get(_:key:)`` point into the memory map and are valid only until the
/// transaction ends: copy what you need before committing.
public struct Transaction: ~Copyable {
    @usableFromInline let handle: OpaquePointer
    public let isReadOnly: Bool

    init(handle: OpaquePointer, isReadOnly: Bool) {
        self.handle = handle
        self.isReadOnly = isReadOnly
    }

    deinit {
        mdb_txn_abort(handle)
    }

    /// Makes every change durable (as durable as the environment's sync setting) and ends it.
    public consuming func commit() throws(LMDBError) {
        let handle = self.handle
        discard self
        // The environment outlives the transaction, which the commit frees even when it fails:
        // taken before (a pointer read). Its path is read only after a failure, so a commit
        // allocates nothing.
        let environment = mdb_txn_env(handle)
        let rc = mdb_txn_commit(handle)
        if rc == clmdb_EIO || rc == clmdb_ENOSPC {
            var path: UnsafePointer<CChar>?
            mdb_env_get_path(environment, &path)
            if let directory = path.map({ String(cString: $0) }), LMDBError.fileSystemIsFull(directory) {
                throw LMDBError(code: clmdb_ENOSPC, operation: "mdb_txn_commit", path: directory)
            }
        }
        try check(rc, "mdb_txn_commit")
    }

    /// Drops every change and ends it.
    public consuming func abort() {
        let handle = self.handle
        discard self
        mdb_txn_abort(handle)
    }

    /// Begins a transaction nested in this write transaction: its changes join this one's when
    /// it commits, and vanish when it aborts, while this one goes on. (Group commit runs each
    /// caller's operation in one, so a refused operation leaves nothing half-written.)
    public func beginChild() throws(LMDBError) -> Transaction {
        precondition(!isReadOnly, "a read transaction has no children")
        var txn: OpaquePointer?
        try check(mdb_txn_begin(mdb_txn_env(handle), handle, 0, &txn), "mdb_txn_begin(child)")
        return Transaction(handle: txn!, isReadOnly: false)
    }

    /// The value stored under `key`, or `nil`. Valid only until the transaction ends.
    public func get(_ db: Database, key: UnsafeRawBufferPointer) throws(LMDBError) -> UnsafeRawBufferPointer? {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val()
        let rc = mdb_get(handle, db.dbi, &k, &v)
        if rc == clmdb_NOTFOUND { return nil }
        try check(rc, "mdb_get(\(db.name))")
        return UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
    }

    /// Stores `value` under `key`, replacing what was there.
    public func put(_ db: Database, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws(LMDBError) {
        precondition(!isReadOnly, "put in a read transaction")
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try check(mdb_put(handle, db.dbi, &k, &v, 0), "mdb_put(\(db.name))")
    }

    /// Removes `key`; answers whether it was there.
    @discardableResult
    public func delete(_ db: Database, key: UnsafeRawBufferPointer) throws(LMDBError) -> Bool {
        precondition(!isReadOnly, "delete in a read transaction")
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        let rc = mdb_del(handle, db.dbi, &k, nil)
        if rc == clmdb_NOTFOUND { return false }
        try check(rc, "mdb_del(\(db.name))")
        return true
    }

    /// How many entries `db` holds.
    public func entryCount(_ db: Database) throws(LMDBError) -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(handle, db.dbi, &stat), "mdb_stat(\(db.name))")
        return stat.ms_entries
    }

    /// Runs `body` with a cursor on `db`; the cursor is closed when `body` returns.
    public func withCursor<R>(_ db: Database, _ body: (inout Cursor) throws -> R) throws -> R {
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(handle, db.dbi, &cursor), "mdb_cursor_open(\(db.name))")
        var wrapped = Cursor(handle: cursor!, database: db)
        defer { mdb_cursor_close(cursor) }
        return try body(&wrapped)
    }
}

/// Convenience overloads taking byte arrays, for code off the hot path.
extension Transaction {
    public func get(_ db: Database, key: [UInt8]) throws(LMDBError) -> [UInt8]? {
        try lmdbTyped { try key.withUnsafeBytes { k in try get(db, key: k).map { [UInt8]($0) } } }
    }

    public func put(_ db: Database, key: [UInt8], value: [UInt8]) throws(LMDBError) {
        try lmdbTyped {
            try key.withUnsafeBytes { k in try value.withUnsafeBytes { v in try put(db, key: k, value: v) } }
        }
    }

    @discardableResult
    public func delete(_ db: Database, key: [UInt8]) throws(LMDBError) -> Bool {
        try lmdbTyped { try key.withUnsafeBytes { k in try delete(db, key: k) } }
    }
}

/// A position in a database, valid inside ``Transaction/withCursor(_:_:)`` only.
public struct Cursor {
    let handle: OpaquePointer
    let database: Database

    /// One key and value; both valid only until the transaction ends.
    public typealias Entry = (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)

    /// Moves to the first key not less than `key`.
    public mutating func seek(atOrAfter key: UnsafeRawBufferPointer) throws(LMDBError) -> Entry? {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        return try move(&k, MDB_SET_RANGE)
    }

    /// Moves to the first key of the database.
    public mutating func first() throws(LMDBError) -> Entry? {
        var k = MDB_val()
        return try move(&k, MDB_FIRST)
    }

    /// Moves to the next key.
    public mutating func next() throws(LMDBError) -> Entry? {
        var k = MDB_val()
        return try move(&k, MDB_NEXT)
    }

    /// Deletes the entry under the cursor; ``next()`` then yields the entry that followed it.
    public mutating func deleteCurrent() throws(LMDBError) {
        try check(mdb_cursor_del(handle, 0), "mdb_cursor_del(\(database.name))")
    }

    private mutating func move(_ key: inout MDB_val, _ op: MDB_cursor_op) throws(LMDBError) -> Entry? {
        var v = MDB_val()
        let rc = mdb_cursor_get(handle, &key, &v, op)
        if rc == clmdb_NOTFOUND { return nil }
        try check(rc, "mdb_cursor_get(\(database.name))")
        return (UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size),
                UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }
}
