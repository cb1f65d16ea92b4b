import Foundation
import LMDBKit

/// One change on record: who did what, when. Never holds a card number in clear.
public struct AuditEntry: Codable, Sendable, Equatable {
    /// The entry's place in the log, from 1.
    public let sequence: Int64
    /// Unix seconds.
    public let time: Int64
    /// The account that made the change (under sudo, the account behind it).
    public let operatorName: String
    /// e.g. `rules.propose`, `rules.approve`, `rules.activate`, `card-limit.set`, `store.purge`.
    public let action: String
    /// What changed, in words (a card only masked).
    public let detail: String

    enum CodingKeys: String, CodingKey {
        case sequence, time, operatorName = "operator", action, detail
    }
}

/// The audit log in `meta`: `audit.next` holds the next sequence number, `audit.<seq>` (8 bytes
/// big-endian after the prefix) each entry as JSON. Appended in the same write transaction as
/// the change it records.
enum AuditLog {
    static func append(_ store: Store, _ txn: borrowing StoreTransaction, time: Int64, operatorName: String,
                       action: String, detail: String) throws(HeadroomError) {
        let sequence = try store.metaInteger(txn, .auditNext) ?? 1
        let entry = AuditEntry(sequence: sequence, time: time, operatorName: operatorName, action: action, detail: detail)
        try store.putMetaInteger(txn, .auditNext, sequence + 1)
        let bytes: [UInt8]
        do {
            // Keys sorted: the same entry is the same bytes, whichever thread writes it.
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            bytes = Array(try encoder.encode(entry))
        } catch {
            throw HeadroomError(.corrupted, "cannot encode an audit entry: \(error)")
        }
        try store.putMeta(txn, .auditEntry(sequence), bytes)
    }

    static func entries(_ store: Store, _ txn: borrowing StoreTransaction) throws(HeadroomError) -> [AuditEntry] {
        var out: [AuditEntry] = []
        try txn.scan(.meta, from: MetaKey.auditPrefix) { (key, value) throws(HeadroomError) in
            guard key.starts(with: MetaKey.auditPrefix) else { return false }
            do {
                out.append(try JSONDecoder().decode(AuditEntry.self, from: Data(value)))
            } catch {
                throw HeadroomError(.corrupted, "an audit entry does not decode: \(error)")
            }
            return true
        }
        return out
    }
}
