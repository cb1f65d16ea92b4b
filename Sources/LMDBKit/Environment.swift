import CLMDB

/// An open LMDB environment: one directory holding `data.mdb` and `lock.mdb`.
///
/// Every option is set explicitly at open (see ``Options``). The environment is safe to share
/// between threads; transactions are not (see ``Transaction``). Caveats from `lmdb.h` that an
/// operator must know: do not put the store on a network filesystem, do not `fork` a process
/// with the environment open, and size the map for the store's largest expected size.
public final class Environment: @unchecked Sendable {
    // @unchecked: an MDB_env is documented thread-safe for everything we call on it once opened.

    /// How the environment is opened. Nothing is left to LMDB's defaults.
    public struct Options: Sendable, Equatable {
        /// The largest size the data file may reach.
        public var mapSizeBytes: Int
        /// Reader slots shared by every process that opens the store.
        public var readersMax: UInt32
        /// Named databases the environment may hold.
        public var databasesMax: UInt32
        /// The Unix permissions of the files LMDB creates.
        public var fileMode: mode_t
        /// When `false`, commits are not flushed to disk (`MDB_NOSYNC`): a crash of the
        /// operating system or a power loss can lose the last commits, a crash of the process
        /// cannot. Durable (`true`) is the default.
        public var syncOnCommit: Bool
        /// Opens for reading only (`MDB_RDONLY`): nothing is created or written, not even on a
        /// full disk. When the lock file cannot be opened for writing (an operator who may only
        /// read the store's files), the environment is opened without it (`MDB_NOLOCK`, see
        /// ``Environment/isLockless``).
        public var readOnly: Bool

        public init(
            mapSizeBytes: Int = 1 << 30,
            readersMax: UInt32 = 126,
            databasesMax: UInt32 = 8,
            fileMode: mode_t = 0o600,
            syncOnCommit: Bool = true,
            readOnly: Bool = false
        ) {
            self.mapSizeBytes = mapSizeBytes
            self.readersMax = readersMax
            self.databasesMax = databasesMax
            self.fileMode = fileMode
            self.syncOnCommit = syncOnCommit
            self.readOnly = readOnly
        }
    }

    @usableFromInline let handle: OpaquePointer
    public let path: String
    public let options: Options
    /// Read-only and opened without the lock file, which this process may not write: its
    /// reads are not registered, so a writer in another process may reuse the pages they read
    /// (figures can then be inconsistent). Say so to whoever reads them.
    public let isLockless: Bool

    /// Opens (creating when missing, unless read-only) the environment in the directory
    /// `path`, which must exist.
    ///
    /// - Throws: ``LMDBError`` when the directory cannot be opened or locked, or is not an
    ///   LMDB environment of this version.
    public init(path: String, options: Options) throws(LMDBError) {
        // MDB_NOTLS: reader slots belong to transactions, not threads, so a read transaction
        // may be reset and renewed from any thread (needed by callers on thread pools).
        var flags = clmdb_NOTLS
        if !options.syncOnCommit { flags |= UInt32(MDB_NOSYNC) }
        if options.readOnly { flags |= clmdb_RDONLY }
        var lockless = false
        var opened = Environment.open(path, options, flags)
        if case .failure(let error) = opened, options.readOnly, error.code == clmdb_EACCES {
            lockless = true
            opened = Environment.open(path, options, flags | clmdb_NOLOCK)
        }
        self.handle = try opened.get()
        self.path = path
        self.options = options
        self.isLockless = lockless
    }

    private static func open(_ path: String, _ options: Options, _ flags: UInt32) -> Result<OpaquePointer, LMDBError> {
        var env: OpaquePointer?
        do throws(LMDBError) {
            try check(mdb_env_create(&env), "mdb_env_create")
        } catch {
            return .failure(error)
        }
        guard let env else { preconditionFailure("mdb_env_create succeeded without an environment") }
        do throws(LMDBError) {
            try check(mdb_env_set_mapsize(env, options.mapSizeBytes), "mdb_env_set_mapsize")
            try check(mdb_env_set_maxreaders(env, options.readersMax), "mdb_env_set_maxreaders")
            try check(mdb_env_set_maxdbs(env, options.databasesMax), "mdb_env_set_maxdbs")
            try check(mdb_env_open(env, path, flags, options.fileMode), "mdb_env_open(\(path))")
            return .success(env)
        } catch {
            mdb_env_close(env)
            return .failure(error)
        }
    }

    deinit {
        mdb_env_close(handle)
    }

    /// Opens, creating when missing, the named database. Call once at start-up. A read-only
    /// environment opens an existing database only (`MDB_NOTFOUND` is thrown when missing).
    public func openDatabase(named name: String) throws(LMDBError) -> Database {
        if options.readOnly {
            let txn = try beginRead()
            var dbi: MDB_dbi = 0
            try check(mdb_dbi_open(txn.handle, name, 0, &dbi), "mdb_dbi_open(\(name))")
            try txn.commit()
            return Database(dbi: dbi, name: name)
        }
        let txn = try beginWrite()
        var dbi: MDB_dbi = 0
        try check(mdb_dbi_open(txn.handle, name, clmdb_CREATE, &dbi), "mdb_dbi_open(\(name))")
        try txn.commit()
        return Database(dbi: dbi, name: name)
    }

    /// Begins the one write transaction; blocks while another thread or process holds it.
    public func beginWrite() throws(LMDBError) -> Transaction {
        Transaction(handle: try begin(flags: 0, "mdb_txn_begin(write)"), isReadOnly: false)
    }

    /// Begins a read transaction: a consistent snapshot that does not wait for the writer.
    public func beginRead() throws(LMDBError) -> Transaction {
        Transaction(handle: try begin(flags: clmdb_RDONLY, "mdb_txn_begin(read)"), isReadOnly: true)
    }

    /// Begins a transaction; when another process has grown the map past ours
    /// (`MDB_MAP_RESIZED`), adopts its size and begins again. The caller holds no other
    /// transaction of this process at that moment (a Headroom engine never does).
    private func begin(flags: UInt32, _ operation: String) throws(LMDBError) -> OpaquePointer {
        var txn: OpaquePointer?
        var rc = mdb_txn_begin(handle, nil, flags, &txn)
        if rc == clmdb_MAP_RESIZED {
            try check(mdb_env_set_mapsize(handle, 0), "mdb_env_set_mapsize(adopt)")
            rc = mdb_txn_begin(handle, nil, flags, &txn)
        }
        try check(rc, operation)
        return txn!
    }

    /// Grows (never shrinks) the map to `bytes`. Only while this process has no transaction
    /// open (LMDB's rule); other processes adopt the new size at their next transaction.
    public func setMapSize(_ bytes: Int) throws(LMDBError) {
        try check(mdb_env_set_mapsize(handle, bytes), "mdb_env_set_mapsize(\(bytes))")
    }

    /// Clears reader slots left by processes that died; returns how many were cleared.
    @discardableResult
    public func clearStaleReaders() throws(LMDBError) -> Int {
        var dead: Int32 = 0
        try check(mdb_reader_check(handle, &dead), "mdb_reader_check")
        return Int(dead)
    }

    /// Writes a consistent copy of the environment into the existing, empty directory `path`,
    /// while other threads and processes go on writing (it reads one snapshot). `compact`
    /// leaves out free pages.
    public func copy(to path: String, compact: Bool) throws(LMDBError) {
        try check(mdb_env_copy2(handle, path, compact ? UInt32(MDB_CP_COMPACT) : 0), "mdb_env_copy2(\(path))")
    }

    /// Flushes the data to disk even when `syncOnCommit` is off.
    public func sync() throws(LMDBError) {
        try check(mdb_env_sync(handle, 1), "mdb_env_sync")
    }

    /// Size facts about the store, for operators.
    public func statistics() throws(LMDBError) -> Statistics {
        var info = MDB_envinfo()
        try check(mdb_env_info(handle, &info), "mdb_env_info")
        var stat = MDB_stat()
        try check(mdb_env_stat(handle, &stat), "mdb_env_stat")
        return Statistics(
            mapSizeBytes: info.me_mapsize,
            pageSizeBytes: Int(stat.ms_psize),
            lastPageNumber: info.me_last_pgno,
            readersUsed: Int(info.me_numreaders)
        )
    }

    public struct Statistics: Sendable {
        public let mapSizeBytes: Int
        public let pageSizeBytes: Int
        public let lastPageNumber: Int
        public let readersUsed: Int
        /// The bytes the data file really uses.
        public var usedBytes: Int { (lastPageNumber + 1) * pageSizeBytes }
    }
}

/// A named database inside an ``Environment``; a plain handle, valid while the environment is open.
public struct Database: Sendable, Equatable {
    @usableFromInline let dbi: MDB_dbi
    public let name: String
}
