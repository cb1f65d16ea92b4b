#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import HeadroomCore

/// Write-behind's journal (decision 0019): two files in the store's directory, `journal.0` and
/// `journal.1`, each in ``JournalFile``'s format, with the same salt in one run. The syncer
/// writes to one until the next entries would pass `fileBytes`, then turns to the other once
/// LMDB holds (committed and synced) every entry in it, and writes it over from its first entry.
/// So the ring holds every entry not yet applied, and memory and disk stay bounded: when the
/// apply falls a whole file behind, the syncer waits, the writer waits behind it, and callers
/// are answered `overloaded`.
///
/// Recovery reads both files, orders their entries by lsn and applies those past the store's
/// `journal-lsn`, which must follow it without a gap; a gap, a file that is not the one
/// written (deleted, replaced, cut short), or a valid entry past a damaged one refuses the
/// store (`journalDamaged`, decision 0012).
///
/// While a write-behind engine runs, the store records the ring (``RingIdentity``, meta
/// `journal-ring`); the engine holds the store's `journal` file locked, as journal mode does.
final class JournalRing: JournalWriting {
    static let names = ["journal.0", "journal.1"]

    let files: [JournalFile]
    private var current = 0
    /// The last lsn written to each file in this run (0: none yet).
    private var last: [UInt64] = [0, 0]
    /// Bytes per file past which the next entries go to the other file.
    private(set) var fileBytes = 0
    /// Waits until LMDB holds every entry through the lsn given, committed and synced; answers
    /// `false` when applying has stopped (set by the committer before the syncer starts).
    var waitApplied: (UInt64) -> Bool = { _ in false }
    /// How many times the syncer turned to the other file.
    private(set) var turns = 0

    /// Opens (creating when missing, unless `readOnly`) the ring of the store in `directory`.
    init(directory: String, readOnly: Bool = false) throws(HeadroomError) {
        var files: [JournalFile] = []
        for name in Self.names { files.append(try JournalFile(directory: directory, name: name, readOnly: readOnly)) }
        self.files = files
    }

    /// Whether either file of the store in `directory` exists.
    static func exists(in directory: String) -> Bool {
        names.contains { FileManager.default.fileExists(atPath: directory + "/" + $0) }
    }

    /// Starts both files for a run: headers with `salt`, filled with zeros to `bytes`, synced.
    /// On failure (a full disk) both are cut to nothing: the store records no ring yet, and
    /// what a ring before held is applied (``Engine/startWriteBehind(fileBytes:)``).
    func begin(salt: UInt64, preallocating bytes: Int) throws(HeadroomError) {
        do throws(HeadroomError) {
            for file in files { try file.begin(salt: salt, preallocating: bytes) }
        } catch {
            for file in files { _ = ftruncate(file.fd, 0) }
            throw error
        }
        fileBytes = bytes
        current = 0
        last = [0, 0]
    }

    func appendAndSync(_ bytes: [UInt8], through lsn: UInt64) throws(HeadroomError) {
        if files[current].offset > JournalFile.fileHeaderBytes && files[current].offset + bytes.count > fileBytes {
            let other = 1 - current
            if last[other] > 0 {
                guard waitApplied(last[other]) else {
                    throw HeadroomError(.storage, "write-behind stopped applying entries to the store: the journal ring cannot turn")
                }
            }
            // Its header zeroed (the next sync covers it): a reader finds no entry there, or,
            // before that sync, entries the store already holds.
            try files[other].empty()
            current = other
            turns += 1
        }
        try files[current].appendAndSync(bytes)
        last[current] = lsn
    }

    /// Not used: the ring is written over file by file as it turns.
    func empty() throws(HeadroomError) {}

    /// Cuts both files to nothing (an operator accepted the loss of what they held).
    func truncate() throws(HeadroomError) {
        for file in files where file.fd >= 0 { try file.truncate() }
    }

    /// The entries past `checkpoint` that the ring holds, in lsn order, after judging it:
    /// - Throws: `journalDamaged` when a file is not the one the store expects (deleted,
    ///   replaced, cut short), when the entries past `checkpoint` do not follow it without a
    ///   gap, or when a valid entry lies past where reading a file stopped (damage, not a torn
    ///   last write).
    func pending(after checkpoint: UInt64, expected: RingIdentity) throws(HeadroomError) -> [(lsn: UInt64, payload: [UInt8])] {
        for file in files {
            guard try file.fileSalt() == expected.salt else {
                throw HeadroomError(.journalDamaged, "the journal file \(file.path) is not the one the write-behind engine wrote (deleted, replaced or emptied after it stopped without applying everything): the payments it answered after journal entry \(checkpoint) are at stake, how many cannot be known; \(Store.acceptLossAdvice)")
            }
            let size = try file.sizeBytes()
            guard size >= expected.sizeBytes else {
                throw HeadroomError(.journalDamaged, "the journal file \(file.path) holds \(size) bytes where the write-behind engine left \(expected.sizeBytes): it was truncated, and the payments it answered after journal entry \(checkpoint) are at stake, how many cannot be known; \(Store.acceptLossAdvice)")
            }
        }
        var all: [(lsn: UInt64, payload: [UInt8])] = []
        var stops: [Int] = []
        for file in files {
            let (entries, _, stop) = try file.entriesAndStop()
            all += entries.filter { $0.lsn > checkpoint }
            stops.append(stop)
        }
        all.sort { $0.lsn < $1.lsn }
        var next = checkpoint + 1
        for entry in all {
            guard entry.lsn == next else {
                throw HeadroomError(.journalDamaged, "the journal ring of \(files[0].path) lacks entry \(next) (the store holds up to \(checkpoint), the ring has \(entry.lsn) next): the payments answered in what is missing cannot be applied; \(Store.acceptLossAdvice)")
            }
            next += 1
        }
        let lastRead = next - 1
        for (file, stop) in zip(files, stops) {
            let newer = try file.validEntries(from: stop + 1, above: lastRead)
            guard let first = newer.first, let end = newer.last else { continue }
            throw HeadroomError(.journalDamaged, "the journal file \(file.path) is damaged at byte \(stop), where entry \(lastRead + 1) should be: it and \(newer.count) valid entries after it (\(first.lsn)-\(end.lsn)) hold answered payments that cannot be applied in order; \(Store.acceptLossAdvice)")
        }
        return all
    }
}

extension JournalRing {
    /// The valid entries past `checkpoint` that follow it without a gap, from files that are
    /// the ones expected: what can still be applied from a damaged ring (an operator accepting
    /// the loss of the rest).
    func sound(after checkpoint: UInt64, expected: RingIdentity) throws(HeadroomError) -> [(lsn: UInt64, payload: [UInt8])] {
        var all: [(lsn: UInt64, payload: [UInt8])] = []
        for file in files where try file.fileSalt() == expected.salt {
            all += try file.entries().entries.filter { $0.lsn > checkpoint }
        }
        all.sort { $0.lsn < $1.lsn }
        var next = checkpoint + 1
        var sound: [(lsn: UInt64, payload: [UInt8])] = []
        for entry in all {
            guard entry.lsn == next else { break }
            sound.append(entry)
            next += 1
        }
        return sound
    }
}

/// What a store knows of the ring a write-behind engine writes for it (meta `journal-ring`):
/// the salt of both files' headers, the size they were preallocated to, and the process that
/// runs it. Recorded before the engine's first answer, removed when it stops cleanly (everything
/// applied). While it is there, other engines refuse to write (`storeBusy`) while the engine
/// runs, and apply the ring first when it crashed.
struct RingIdentity: Equatable {
    var salt: UInt64
    var sizeBytes: UInt64
    var processID: Int64

    var bytes: [UInt8] {
        var w = ByteWriter()
        w.u64(salt)
        w.u64(sizeBytes)
        w.i64(processID)
        return w.bytes
    }

    init(salt: UInt64, sizeBytes: UInt64, processID: Int64) {
        self.salt = salt
        self.sizeBytes = sizeBytes
        self.processID = processID
    }

    init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count == 24 else { return nil }
        var r = ByteReader(bytes)
        guard let salt = r.u64(), let size = r.u64(), let pid = r.u64() else { return nil }
        self.init(salt: salt, sizeBytes: size, processID: Int64(bitPattern: pid))
    }
}

extension Store {
    /// The ring the store expects (a write-behind engine runs, or crashed), if any.
    func expectedRing(_ txn: borrowing StoreTransaction) throws(HeadroomError) -> RingIdentity? {
        guard let bytes = try meta(txn, .journalRing) else { return nil }
        guard let identity = RingIdentity(bytes) else { throw HeadroomError(.corrupted, "meta journal-ring is not 24 bytes") }
        return identity
    }

    /// Applies, in `txn`, the ring's entries past the store's `journal-lsn` (recording the last),
    /// and forgets the ring: once `txn` commits, the store holds everything a stopped
    /// write-behind engine answered. The caller holds the journal's lock (no engine runs it).
    /// - Returns: how many entries were applied.
    func applyRing(_ txn: borrowing StoreTransaction, _ expected: RingIdentity) throws(HeadroomError) -> Int {
        let checkpoint = UInt64(try metaInteger(txn, .journalLSN) ?? 0)
        let ring = try JournalRing(directory: environment.path, readOnly: true)
        let applied = try apply(txn, try ring.pending(after: checkpoint, expected: expected), after: checkpoint)
        try deleteMeta(txn, .journalRing)
        return applied
    }

    /// In a write transaction of an engine that does not run write-behind itself: refused
    /// (`storeBusy`) while a write-behind engine runs the store, since LMDB lags that engine's
    /// answers and a write here could pass a limit; when one crashed, its ring is applied first
    /// (in `txn`). Answers how many entries were applied.
    func followRing(_ txn: borrowing StoreTransaction, _ journal: JournalFile) throws(HeadroomError) -> Int {
        guard let expected = try expectedRing(txn) else { return 0 }
        // Another engine may hold the lock for a moment (to learn that no journal runs).
        guard journal.tryExclusive(waitingMilliseconds: 200) else {
            throw HeadroomError(.storeBusy, "a write-behind engine (process \(expected.processID)) runs the store \(environment.path): the store lags its answers by up to an apply, so no other process may write payments, counters or settings meanwhile; make the change through that process, or stop it first")
        }
        defer { journal.unlock() }
        return try applyRing(txn, expected)
    }
}

extension JournalFile {
    /// Takes the lock, trying for up to `milliseconds` (others hold it only for a moment to
    /// learn that no journal runs); `false` when a journal or a write-behind engine holds it.
    func tryExclusive(waitingMilliseconds milliseconds: Int) -> Bool {
        var locked = tryExclusive()
        for _ in 0..<max(0, milliseconds / 5) where !locked {
            usleep(5_000)
            locked = tryExclusive()
        }
        return locked
    }
}

extension Engine {
    /// Applies what a stopped write-behind engine's ring holds and the store does not, and
    /// forgets the ring; made durable before anything may write the ring again. The caller
    /// holds the journal's lock.
    /// - Returns: how many entries were applied.
    @discardableResult
    func recoverRing() throws(HeadroomError) -> Int {
        let applied = try growingMap { () throws(HeadroomError) -> Int? in
            let txn = try store.beginWrite(applyingJournal: false)
            guard let expected = try store.expectedRing(txn) else { return nil }
            let applied = try store.applyRing(txn, expected)
            try txn.commit()
            return applied
        }
        guard let applied else { return 0 }
        if !store.environment.options.syncOnCommit { try syncStore() }
        if applied > 0 {
            logger.warning("the store was brought up to date from its write-behind journal ring",
                           metadata: ["entries": "\(applied)", "store": "\(path)"])
        }
        return applied
    }

    /// Takes the store for a write-behind committer (``takeJournal(_:)``): both ring files
    /// begun with a new salt, and the ring recorded in the store (durably) before any answer.
    func startWriteBehind(fileBytes: Int) throws(HeadroomError) -> JournalRing {
        try takeJournal { () throws(HeadroomError) -> JournalRing in
            let ring = try JournalRing(directory: path)
            try ring.begin(salt: UInt64.random(in: 1...UInt64.max), preallocating: fileBytes)
            let size = min(try ring.files[0].sizeBytes(), try ring.files[1].sizeBytes())
            let identity = RingIdentity(salt: ring.files[0].salt, sizeBytes: size, processID: Int64(getpid()))
            try write(applyingJournal: false) { (txn) throws(HeadroomError) in try store.putMeta(txn, .journalRing, identity.bytes) }
            if !store.environment.options.syncOnCommit { try syncStore() }
            return ring
        }
    }
}
