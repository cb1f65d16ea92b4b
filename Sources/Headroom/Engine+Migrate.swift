import Foundation
import LMDBKit

/// What ``Engine/migrate(path:by:clock:)`` did.
public struct MigrationReport: Sendable, Equatable {
    /// The schema the store had.
    public let fromSchema: Int
    /// The schema it has now.
    public let toSchema: Int
    /// Payment and refund records rewritten in the new layout.
    public let recordsRewritten: Int
}

extension Engine {
    /// Brings a store written by Headroom 0.9 (schema 2) or 0.10 (schema 3) to this version's
    /// schema (4): every payment record is rewritten in the current layout (decisions 0014 and
    /// 0015), in one transaction (a crash leaves the store as it was), recorded in the audit log.
    /// Migrated records have no hold time (the older rule sets set none: they hold until
    /// confirmed, released or reconciled) and their history starts after the migration.
    ///
    /// A store whose journal still holds answers (a journaling process of the older release
    /// stopped without its last checkpoint) is refused: open it once with that release, which
    /// applies them.
    /// Needs no card key and no rules: nothing else changes.
    ///
    /// - Throws: `noStore`, `storeBusy` while a process journals it, `invalidInput` for a store
    ///   already at this schema, `storeNeedsMigration` for a journal 0.9 must apply first,
    ///   `corrupted` for another schema or a record that does not decode, `operatorRequired`,
    ///   `storage`.
    public static func migrate(path: String, by name: String,
                               clock: @Sendable () -> Int64 = Engine.systemClock) throws(HeadroomError) -> MigrationReport {
        let (store, journal) = try openStopped(path, by: name, for: "a migration")
        defer { journal.unlock() }
        while true {
            do {
                let report = try migrateOnce(store, journal, path: path, by: name, at: clock())
                // The journal of 0.9 held nothing the store lacks (checked above): its old
                // entries would only be read as a file of another format.
                try journal.truncate()
                return report
            } catch where error.isMapFull {
                try lmdb { () throws(LMDBError) in try store.environment.setMapSize(try store.environment.statistics().mapSizeBytes * 2) }
            }
        }
    }

    private static func migrateOnce(_ store: Store, _ journal: JournalFile, path: String, by name: String,
                                    at time: Int64) throws(HeadroomError) -> MigrationReport {
        let txn = try store.beginWrite(applyingJournal: false)
        let from = try store.metaInteger(txn, .schema) ?? 0
        let to = Int64(Store.schemaVersion)
        if from == to {
            throw HeadroomError(.invalidInput, "the store \(path) is already at schema \(to): there is nothing to migrate")
        }
        guard let release = Store.migratable[from] else {
            throw HeadroomError(.corrupted, "the store's schema is version \(from): this Headroom migrates versions \(Store.migratable.keys.sorted().map(String.init).joined(separator: " and "))")
        }
        if try store.expectedJournal(txn) != nil {
            throw HeadroomError(.storeNeedsMigration, "the store's journal may hold answered payments that a journaling process of Headroom \(release) did not checkpoint: open the store once with Headroom \(release) (it applies them), then migrate")
        }
        var rewritten = 0
        var next: [UInt8]? = []  // where the next chunk starts; nil once every record is read
        while let start = next {
            // Read a chunk, then write it: a cursor's table is not written while it walks it.
            var chunk: [(key: [UInt8], record: PaymentRecord)] = []
            next = nil
            try txn.scan(.payments, from: start.isEmpty ? nil : start) { (key, value) throws(HeadroomError) in
                if chunk.count == 10_000 {
                    next = Array(key)
                    return false
                }
                if PaymentRecord.header(value) != nil { return true }  // already rewritten (none in an older store)
                guard let record = PaymentRecord(olderVersion: value) else {
                    throw HeadroomError(.corrupted, "the record of \(String(decoding: key, as: UTF8.self)) does not decode as Headroom \(release)'s")
                }
                chunk.append((Array(key), record))
                return true
            }
            for (key, record) in chunk {
                try txn.put(.payments, key: key, value: record.encoded())
            }
            rewritten += chunk.count
        }
        try store.putMetaInteger(txn, .schema, to)
        try AuditLog.append(store, txn, time: time, operatorName: name, action: "store.migrate",
                            detail: "schema \(from) to \(to): \(rewritten) payment and refund records rewritten")
        try txn.commit()
        return MigrationReport(fromSchema: Int(from), toSchema: Int(to), recordsRewritten: rewritten)
    }
}
