import CLMDB
#if canImport(Glibc)
import Glibc
#endif

/// A condition that LMDB reported and that a caller can act on.
///
/// Return codes are translated here, in one place. `MDB_NOTFOUND` never becomes an error (reads
/// answer `nil`); codes that can only mean a bug in Headroom (`EINVAL`, `MDB_BAD_TXN`,
/// `MDB_BAD_DBI`, `MDB_BAD_VALSIZE`) stop the process with context instead of being thrown,
/// because no caller could recover from them.
public struct LMDBError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The LMDB or errno return code.
    public let code: Int32
    /// The LMDB call that failed, e.g. `mdb_txn_commit`.
    public let operation: String

    /// The store's directory, where the failure concerns its file system (a full disk).
    public let path: String?

    public init(code: Int32, operation: String, path: String? = nil) {
        self.code = code
        self.operation = operation
        self.path = path
    }

    /// The file system is full: nothing more can be written to the store.
    public var isNoSpace: Bool { code == clmdb_ENOSPC }

    /// Whether the file system holding `path` has no block left for this process. LMDB reports a
    /// write that a full disk cut short as `EIO` (a short `pwrite`), not `ENOSPC`: a failed
    /// commit asks the file system, so that the operator reads the real cause.
    public static func fileSystemIsFull(_ path: String) -> Bool {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return false }
        // Less than 64 KiB left counts as full: a commit writes pages of 4 KiB and more, and
        // the metadata it needs besides.
        return UInt64(stats.f_bavail) * UInt64(stats.f_frsize) < 64 << 10
    }

    /// The map is full: the store needs a larger `mapSizeBytes`.
    public static let mapFullCode = clmdb_MAP_FULL
    /// No such key, or (opening a database in a read-only environment) no such database.
    public static let notFoundCode = clmdb_NOTFOUND
    /// Every reader slot is taken: too many processes or threads have the store open.
    public static let readersFullCode = clmdb_READERS_FULL

    public var isMapFull: Bool { code == clmdb_MAP_FULL }
    public var isReadersFull: Bool { code == clmdb_READERS_FULL }

    public var description: String {
        if isNoSpace, let path {
            return "\(operation) failed: no space left on device (the file system of \(path) is full)"
        }
        if code == clmdb_EACCES {
            return "\(operation) failed: Permission denied: this account may not write the store's files"
        }
        let message = String(cString: mdb_strerror(code))
        return "\(operation) failed: \(message) (code \(code))"
    }
}

/// Translates an LMDB return code: success returns, bugs stop the process, conditions throw.
@usableFromInline
func check(_ code: Int32, _ operation: @autoclosure () -> String) throws(LMDBError) {
    if code == clmdb_SUCCESS { return }
    if isProgrammingError(code) {
        let message = String(cString: mdb_strerror(code))
        preconditionFailure("LMDB \(operation()) returned \(code) (\(message)): a Headroom bug")
    }
    throw LMDBError(code: code, operation: operation())
}

@usableFromInline
func isProgrammingError(_ code: Int32) -> Bool {
    code == clmdb_EINVAL || code == clmdb_BAD_TXN || code == clmdb_BAD_DBI || code == clmdb_BAD_VALSIZE
}

/// Runs `body`, whose only errors are ``LMDBError``s, keeping that type (for closures passed
/// through `rethrows` functions, which lose it).
@inlinable
public func lmdbTyped<R>(_ body: () throws -> R) throws(LMDBError) -> R {
    do {
        return try body()
    } catch let error as LMDBError {
        throw error
    } catch {
        preconditionFailure("an LMDB operation threw \(error)")
    }
}
