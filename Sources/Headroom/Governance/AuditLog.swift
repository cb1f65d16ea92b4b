import Foundation
import LMDBKit

/// One change on record: who did what, when. Never holds a card number in clear.
public struct AuditEntry: Codable, Sendable, Equatable {
    public let sequence: Int64
    /// Unix seconds.
    public let time: Int64
    public let operatorName: String
    /// e.g. `rules.propose`, `rules.approve`, `rules.activate`, `card-limit.set`, `store.purge`.
    public let action: String
    public let detail: String

    enum CodingKeys: String, CodingKey {
        case sequence, time, operatorName = "operator", action, detail
    }
}

/// The audit log in `meta`: `audit.next` holds the next sequence number, `audit.<seq>` (8 bytes
/// big-endian after the prefix) each entry as JSON. Appended in the same write transaction as
/// the change it records.
enum AuditLog {
    static let prefix = Array("audit.".utf8)

    static func append(_ store: Store, _ txn: borrowing Transaction, time: Int64, operatorName: String,
                       action: String, detail: String) throws(HeadroomError) {
        let sequence = try store.metaInteger(txn, "audit-next") ?? 1
        let entry = AuditEntry(sequence: sequence, time: time, operatorName: operatorName, action: action, detail: detail)
        try store.putMetaInteger(txn, "audit-next", sequence + 1)
        do {
            try txn.put(store.meta, key: key(sequence), value: Array(try JSONEncoder().encode(entry)))
        } catch let error as LMDBError {
            throw .storage(error)
        } catch {
            throw HeadroomError(.corrupted, "cannot encode an audit entry: \(error)")
        }
    }

    static func key(_ sequence: Int64) -> [UInt8] {
        var w = ByteWriter()
        w.u64(UInt64(sequence).bigEndian)
        return prefix + w.bytes
    }

    static func entries(_ store: Store, _ txn: borrowing Transaction) throws(HeadroomError) -> [AuditEntry] {
        var out: [AuditEntry] = []
        do {
            try txn.withCursor(store.meta) { cursor in
                var entry = try prefix.withUnsafeBytes { try cursor.seek(atOrAfter: $0) }
                while let (key, value) = entry, key.starts(with: prefix) {
                    out.append(try JSONDecoder().decode(AuditEntry.self, from: Data(value)))
                    entry = try cursor.next()
                }
            }
        } catch let error as LMDBError {
            throw .storage(error)
        } catch {
            throw HeadroomError(.corrupted, "an audit entry does not decode: \(error)")
        }
        return out
    }
}
