#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import HeadroomRules
import LMDBKit

/// What a store knows of the journal a committer writes for it (meta `journal-file`): the salt
/// of its file header and the size it was preallocated to, recorded when the committer starts
/// (before its first answer) and removed when it stops cleanly. While it is there, a journal
/// without that salt (deleted, replaced, emptied) or shorter than that size (truncated) cannot
/// be the one that answered payments: the store refuses to open (`journalDamaged`) rather than
/// forget them.
struct JournalIdentity: Equatable {
    var salt: UInt64
    var sizeBytes: UInt64


    var bytes: [UInt8] {
        var w = ByteWriter()
        w.u64(salt)
        w.u64(sizeBytes)
        return w.bytes
    }

    init(salt: UInt64, sizeBytes: UInt64) {
        self.salt = salt
        self.sizeBytes = sizeBytes
    }

    init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count == 16 else { return nil }
        var r = ByteReader(bytes)
        guard let salt = r.u64(), let size = r.u64() else { return nil }
        self.init(salt: salt, sizeBytes: size)
    }
}

extension JournalFile {
    /// The file's size in bytes.
    func sizeBytes() throws(HeadroomError) -> UInt64 {
        var stats = stat()
        guard fd >= 0, fstat(fd, &stats) == 0 else { throw Self.failure("cannot stat", path) }
        return UInt64(stats.st_size)
    }

    /// The valid entries (whole, checksum right) with an lsn above `lsn` that start at or after
    /// byte `offset`, found by looking for the entry magic at every byte (a damaged header
    /// hides where the next entry starts). Read only when a journal is judged, never per payment.
    func validEntries(from offset: Int, above lsn: UInt64) throws(HeadroomError) -> [(lsn: UInt64, offset: Int)] {
        guard fd >= 0, let salt = try fileSalt() else { return [] }
        let size = Int(try sizeBytes())
        guard size > offset + Self.headerBytes else { return [] }
        var bytes = [UInt8](repeating: 0, count: size - offset)
        try read(into: &bytes, at: offset)
        return bytes.withUnsafeBytes { raw in
            var found: [(lsn: UInt64, offset: Int)] = []
            var i = 0
            while i + Self.headerBytes <= raw.count {
                // memchr skips the zeros of a preallocated file at the C library's speed.
                guard let hit = memchr(raw.baseAddress! + i, Int32(Self.magic & 0xFF), raw.count - i) else { break }
                i = raw.baseAddress!.distance(to: UnsafeRawPointer(hit))
                guard i + Self.headerBytes <= raw.count else { break }
                guard raw.loadUnaligned(fromByteOffset: i, as: UInt32.self) == Self.magic else { i += 1; continue }
                let length = Int(raw.loadUnaligned(fromByteOffset: i + 4, as: UInt32.self))
                let entryLSN = raw.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)
                let sum = raw.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self)
                let start = i + Self.headerBytes
                if entryLSN > lsn, start + length <= raw.count,
                   Self.checksum(lsn: entryLSN, salt: salt, UnsafeRawBufferPointer(rebasing: raw[start..<start + length])) == sum {
                    found.append((entryLSN, offset + i))
                    i = start + length
                } else {
                    i += 1
                }
            }
            return found
        }
    }
}

extension Store {
    static let acceptLossAdvice = "restore the journal file if you can; otherwise reconcile the payments at stake with NetsUnion's files and accept the loss: headroom store accept-journal-loss --store DIR"

    /// The journal the store expects (a committer journals, or crashed journaling), if any.
    func expectedJournal(_ txn: borrowing StoreTransaction) throws(HeadroomError) -> JournalIdentity? {
        guard let bytes = try meta(txn, .journalFile) else { return nil }
        guard let identity = JournalIdentity(bytes) else { throw HeadroomError(.corrupted, "meta journal-file is not 16 bytes") }
        return identity
    }

    /// Refuses a journal that cannot be the one the store's journaling committer wrote: a file
    /// without its salt (deleted, replaced, emptied), or shorter than it was preallocated
    /// (truncated). Only where no journal runs.
    func checkJournalIsTheOneExpected(_ txn: borrowing StoreTransaction, _ journal: JournalFile, _ expected: JournalIdentity) throws(HeadroomError) {
        let since = try metaInteger(txn, .journalLSN) ?? 0
        guard try journal.fileSalt() == expected.salt else {
            throw HeadroomError(.journalDamaged, "the journal \(journal.path) is not the file the journaling process wrote (deleted, replaced or emptied after that process stopped without its last checkpoint): the payments it answered after journal entry \(since) are at stake, how many cannot be known; \(Self.acceptLossAdvice)")
        }
        let size = try journal.sizeBytes()
        guard size >= expected.sizeBytes else {
            throw HeadroomError(.journalDamaged, "the journal \(journal.path) holds \(size) bytes where the journaling process left \(expected.sizeBytes): it was truncated, and the payments it answered after journal entry \(since) are at stake, how many cannot be known; \(Self.acceptLossAdvice)")
        }
    }

    /// Judges a journal no process runs (between a running journal's intervals the store holds
    /// all its entries, so nothing is judged then): it must be the expected file
    /// (``checkJournalIsTheOneExpected(_:_:_:)``), and past where
    /// reading stopped no valid entry newer than every one read may lie. A torn write is the
    /// last one, never synced, so never answered: nothing newer can follow it. A valid entry
    /// after the stop means the entry there was damaged, not torn.
    /// - Returns: whether it was judged: `false` when a journal runs.
    @discardableResult
    func judgeStoppedJournal(_ txn: borrowing StoreTransaction, _ journal: JournalFile, _ expected: JournalIdentity, stop: Int,
                             above lsn: UInt64, holdingLock: Bool) throws(HeadroomError) -> Bool {
        guard holdingLock || journal.tryExclusive() else { return false }
        defer { if !holdingLock { journal.unlock() } }
        try checkJournalIsTheOneExpected(txn, journal, expected)
        let newer = try journal.validEntries(from: stop + 1, above: lsn)
        guard let first = newer.first, let last = newer.last else { return true }
        throw HeadroomError(.journalDamaged, "the journal \(journal.path) is damaged at byte \(stop), where entry \(lsn + 1) should be: it and \(newer.count) valid entries after it (\(first.lsn)-\(last.lsn)) hold answered payments that cannot be applied in order; \(Self.acceptLossAdvice)")
    }

    /// Refuses a journal written by Headroom before its file header (entries from byte 0)
    /// that holds entries the store does not: this version cannot check them.
    func checkNoJournalOfTheFirstFormat(_ txn: borrowing StoreTransaction, _ journal: JournalFile) throws(HeadroomError) {
        guard journal.fd >= 0 else { return }
        var header = [UInt8](repeating: 0, count: JournalFile.headerBytes)
        let n = header.withUnsafeMutableBytes { pread(journal.fd, $0.baseAddress!, JournalFile.headerBytes, 0) }
        guard n == JournalFile.headerBytes else { return }
        let (magic, lsn) = header.withUnsafeBytes { ($0.loadUnaligned(as: UInt32.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
        let checkpoint = UInt64(try metaInteger(txn, .journalLSN) ?? 0)
        guard magic == JournalFile.magic, lsn > checkpoint else { return }
        throw HeadroomError(.journalDamaged, "the journal \(journal.path) is of Headroom's first journal format and holds entries from \(lsn) that the store does not (it holds up to \(checkpoint)): open the store once with the Headroom that wrote it, which applies them")
    }
}

extension Engine {
    /// Records the journal a committer starts to write (``JournalIdentity``), durably, before
    /// it answers anything.
    func rememberJournal(_ journal: JournalFile) throws(HeadroomError) {
        let identity = JournalIdentity(salt: journal.salt, sizeBytes: try journal.sizeBytes())
        try write(applyingJournal: false) { (txn) throws(HeadroomError) in try store.putMeta(txn, .journalFile, identity.bytes) }
    }

    /// Forgets the journal (or, `key` `.journalRing`, the ring) of a committer that stopped
    /// cleanly: everything it answered is in the store, so any file will do at the next open.
    func forgetJournal(_ key: MetaKey = .journalFile) throws(HeadroomError) {
        try write(applyingJournal: false) { (txn) throws(HeadroomError) in try store.deleteMeta(txn, key) }
        if !store.environment.options.syncOnCommit { try syncStore() }
    }
}

/// What ``Engine/acceptJournalLoss(path:by:clock:)`` did.
public struct JournalLossReport: Sendable {
    /// Entries before the damage, applied to the store.
    public let entriesApplied: Int
    /// What was wrong, as the refusal to open said it.
    public let problem: String
    /// The copy of the journal as it was, kept for the investigation (mode 0600).
    public let copyPath: String
}

extension Engine {
    /// Opens a store for an operator's repair (no engine: it may be one that engines refuse),
    /// holding its journal's lock, so that no process journals it meanwhile.
    /// - Throws: `noStore`, `operatorRequired` (`what` says for what), `storeBusy`, `storage`.
    static func openStopped(_ path: String, by name: String, for what: String) throws(HeadroomError) -> (Store, JournalFile) {
        try requireStore(path)
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw HeadroomError(.operatorRequired, "\(what) needs the operator's name")
        }
        let store = try Store.open(path, .init())
        let journal = try JournalFile(directory: path)
        guard journal.tryExclusive() else {
            throw HeadroomError(.storeBusy, "a journaling process runs on \(path): stop it first")
        }
        return (store, journal)
    }

    /// Lets a store whose journal was refused (`journalDamaged`) open again, on record: applies
    /// the valid entries before the damage (none from a journal that is not the expected file),
    /// keeps a copy of the journal beside it (`journal.damaged-<unix seconds>`), empties the
    /// journal and records in the audit log who accepted what. The payments answered in the
    /// entries that are lost must be settled from NetsUnion's reconciliation files.
    ///
    /// - Throws: `invalidInput` when the journal is sound (there is no loss to accept),
    ///   `storeBusy` while a journal runs, `noStore`, `operatorRequired`, `storage`.
    public static func acceptJournalLoss(path: String, by name: String,
                                         clock: @Sendable () -> Int64 = Engine.systemClock) throws(HeadroomError) -> JournalLossReport {
        let (store, journal) = try openStopped(path, by: name, for: "accepting a loss")
        defer { journal.unlock() }
        // A journal of another format is not damaged: the Headroom that wrote it applies it.
        try store.checkSchema(try store.beginRead())
        let txn = try store.beginWrite(applyingJournal: false)
        let checkpoint = UInt64(try store.metaInteger(txn, .journalLSN) ?? 0)
        var problem: String?
        var applied = 0
        if let expected = try store.expectedJournal(txn) {
            do {
                try store.checkJournalIsTheOneExpected(txn, journal, expected)
                let (entries, _, stop) = try journal.entriesAndStop()
                applied = try store.apply(txn, entries, after: checkpoint)
                try store.judgeStoppedJournal(txn, journal, expected, stop: stop, above: max(checkpoint, entries.last?.lsn ?? 0), holdingLock: true)
            } catch where error.code == .journalDamaged {
                problem = error.message.replacingOccurrences(of: "; " + Store.acceptLossAdvice, with: "")
            }
        }
        // A write-behind engine's ring (decision 0019): judged as a whole; when damaged, the
        // entries before the damage (in lsn order, without a gap) are applied.
        var ringDamaged = false
        if problem == nil, let expected = try store.expectedRing(txn) {
            let ring = try JournalRing(directory: path, readOnly: true)
            do {
                _ = try ring.pending(after: checkpoint, expected: expected)
            } catch where error.code == .journalDamaged {
                problem = error.message.replacingOccurrences(of: "; " + Store.acceptLossAdvice, with: "")
                ringDamaged = true
                applied = try store.apply(txn, try ring.sound(after: checkpoint, expected: expected), after: checkpoint)
            }
        }
        guard let problem else {
            throw HeadroomError(.invalidInput, "the journal of \(path) is sound: there is no loss to accept (the store opens as it is)")
        }
        let now = clock()
        let originals = ringDamaged ? JournalRing.names.map { path + "/" + $0 } : [journal.path]
        var copies: [String] = []
        for original in originals where FileManager.default.fileExists(atPath: original) {
            let copy = "\(original).damaged-\(now)"
            do {
                try FileManager.default.copyItem(atPath: original, toPath: copy)
                try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: copy)
            } catch {
                throw HeadroomError(.storage, "cannot keep a copy of the journal in \(copy): \(fileErrorReason(error)); nothing was changed")
            }
            copies.append(copy)
        }
        try store.deleteMeta(txn, ringDamaged ? .journalRing : .journalFile)
        try AuditLog.append(store, txn, time: now, operatorName: name, action: "store.accept-journal-loss",
                            detail: "\(applied) journal entries before the damage applied; the rest set aside in \(copies.joined(separator: ", ")): \(problem)")
        try txn.commit()
        // Emptied only once the acceptance is on record: a crash before leaves it refused again.
        if ringDamaged {
            try JournalRing(directory: path).truncate()
        } else {
            try journal.truncate()
        }
        return JournalLossReport(entriesApplied: applied, problem: problem, copyPath: copies.joined(separator: ", "))
    }
}

extension Engine {
    /// What the journal holds that the store does not, when no journal runs: answered payments
    /// that the next write applies, or damage that keeps the store from opening for writes.
    /// `nil` when the store holds everything (or a journal runs: the store lags it by at most a
    /// checkpoint interval). For read-only views, whose figures leave such entries out.
    public func journalNotice() throws(HeadroomError) -> String? {
        let txn = try store.beginRead()
        if let ring = try store.expectedRing(txn),
           let notice = try stoppedNotice(txn, "journal ring", "a write-behind engine stopped without applying them", { (_, checkpoint) throws(HeadroomError) in
               try JournalRing(directory: path, readOnly: true).pending(after: checkpoint, expected: ring).count
           }) {
            return notice
        }
        guard let expected = try store.expectedJournal(txn) else { return nil }
        return try stoppedNotice(txn, "journal", "a journaling process stopped without its last checkpoint") { (txn, checkpoint) throws(HeadroomError) in
            let (entries, _, stop) = try journal.entriesAndStop()
            try store.judgeStoppedJournal(txn, journal, expected, stop: stop, above: max(checkpoint, entries.last?.lsn ?? 0), holdingLock: true)
            return entries.filter { $0.lsn > checkpoint }.count
        }
    }

    /// What a stopped journal (or write-behind ring) holds that the store does not, judged by
    /// `pending` (how many entries past the store's `journal-lsn`, or `journalDamaged`) while
    /// this engine holds the journal's lock: `nil` while a journal runs (it holds its file open
    /// and locked; no file: none runs) or when nothing is pending, the damage when damaged.
    private func stoppedNotice(_ txn: borrowing StoreTransaction, _ what: String, _ stopped: String,
                               _ pending: (borrowing StoreTransaction, UInt64) throws(HeadroomError) -> Int) throws(HeadroomError) -> String? {
        let present = journal.fd >= 0
        guard !present || journal.tryExclusive() else { return nil }
        defer { if present { journal.unlock() } }
        let checkpoint = UInt64(try store.metaInteger(txn, .journalLSN) ?? 0)
        do {
            let count = try pending(txn, checkpoint)
            guard count > 0 else { return nil }
            return "the \(what) holds \(count) batches of answered operations that the store does not yet (\(stopped)): these figures leave them out; the next write to the store applies them"
        } catch where error.code == .journalDamaged {
            return error.message
        }
    }
}

extension Engine {
    /// While a write-behind engine runs the store (decision 0019): that it does, and how old
    /// what a reader sees is (the store holds what it applied last, up to an apply behind its
    /// answers). `nil` otherwise.
    public func writeBehindNotice() throws(HeadroomError) -> String? {
        let txn = try store.beginRead()
        guard let ring = try store.expectedRing(txn), journal.fd >= 0 else { return nil }
        if journal.tryExclusive() {
            journal.unlock()
            return nil  // none runs: journalNotice() says what a stopped one left
        }
        let when = try store.metaInteger(txn, .journalAppliedAt).map { "as of \(Timestamp(unixSeconds: $0 / 1000).chinaISO8601)" }
            ?? "before its first apply"
        return "a write-behind engine (process \(ring.processID)) runs this store: these figures are what it last applied to the store (\(when)), up to an apply (about a second) behind the payments it has answered since"
    }
}
