/// Every key of the `meta` database, in one place: a new stored setting is a new case here.
enum MetaKey: Sendable, Equatable {
    /// The store's schema version (``Store/schemaVersion``).
    case schema
    /// The check value of the card key the store was created with.
    case cardKeyCheck
    /// The first China day whose windows still hold cells (``Engine/purge(today:dryRun:)``).
    case purgedBeforeDay
    /// The last journal entry the store holds.
    case journalLSN
    /// The journal a committer writes or left (``JournalIdentity``).
    case journalFile
    /// The journal ring a write-behind engine writes or left (``RingIdentity``).
    case journalRing
    /// When write-behind last committed what it applied (unix milliseconds): how old a reader's
    /// view of the store can be.
    case journalAppliedAt
    /// The next audit sequence number, and one audit entry.
    case auditNext
    case auditEntry(Int64)
    /// Rule sets: the latest version stored, the one in force, the activation history, the
    /// schedule, and one version's files and facts.
    case rulesLatest
    case rulesCurrent
    case rulesActivations
    case rulesScheduled
    /// The approved version judged beside the one in force (shadow mode, decision 0017).
    case rulesShadow
    /// A shadow version's tally: `shadow.v<N>.<name>`.
    case shadowTally(UInt32, String)
    case rulesFiles(UInt32)
    case rulesInfo(UInt32)

    /// The audit entries' common prefix: entries sort by sequence after it.
    static let auditPrefix = Array("audit.".utf8)

    /// The key's name, for the fixed keys: lent without allocating (rule refreshes read two of
    /// them per transaction, on the hot path).
    private var fixed: StaticString? {
        switch self {
        case .schema: "schema"
        case .cardKeyCheck: "card-key-check"
        case .purgedBeforeDay: "purged-before-day"
        case .journalLSN: "journal-lsn"
        case .journalFile: "journal-file"
        case .journalRing: "journal-ring"
        case .journalAppliedAt: "journal-applied-at"
        case .auditNext: "audit-next"
        case .rulesLatest: "rules.latest"
        case .rulesCurrent: "rules.current"
        case .rulesActivations: "rules.activations"
        case .rulesScheduled: "rules.scheduled"
        case .rulesShadow: "rules.shadow"
        case .auditEntry, .rulesFiles, .rulesInfo, .shadowTally: nil
        }
    }

    var bytes: [UInt8] {
        if let fixed { return fixed.withUTF8Buffer { Array($0) } }
        switch self {
        case .auditEntry(let sequence):
            // 8 bytes big-endian after the prefix, so that entries sort by sequence.
            return Self.auditPrefix + withUnsafeBytes(of: UInt64(sequence).bigEndian) { Array($0) }
        case .rulesFiles(let version): return Array("rules.v\(version)".utf8)
        case .rulesInfo(let version): return Array("rules.v\(version).info".utf8)
        case .shadowTally(let version, let name): return Array("shadow.v\(version).\(name)".utf8)
        default: preconditionFailure("a fixed key")
        }
    }

    /// Lends the key's bytes to `body`.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(HeadroomError) -> R) throws(HeadroomError) -> R {
        guard let fixed else { return try Headroom.withBytes(bytes, body) }
        let result: Result<R, HeadroomError> = fixed.withUTF8Buffer { buffer in
            Result { () throws(HeadroomError) in try body(UnsafeRawBufferPointer(buffer)) }
        }
        return try result.get()
    }

    var description: String { String(decoding: bytes, as: UTF8.self) }
}
