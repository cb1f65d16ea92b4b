import HeadroomCore
import LMDBKit

// Applying a journal to the store: by the writers of every process before they decide anything,
// and by recovery when a store whose journal no process runs is opened (decisions 0009, 0012).

extension Store {
    /// Applies, in `txn`, every entry of the journal past the store's `journal-lsn`, and records
    /// the last one applied: what a journaling committer answered but had not checkpointed when
    /// it stopped or crashed. Exactly once: the entries and `journal-lsn` change in one
    /// transaction. Harmless while a journal runs: a write transaction of another engine only
    /// begins between its checkpoint intervals, when every entry in the file is at most
    /// `journal-lsn` (entries are written only inside an interval, which holds LMDB's write lock).
    /// - Returns: how many entries were applied, and whether reading stopped at a torn entry.
    /// `holdingLock`: the caller holds the journal's lock (no journal runs).
    func applyJournal(_ txn: borrowing StoreTransaction, _ journal: JournalFile, holdingLock: Bool = false) throws(HeadroomError) -> (applied: Int, torn: Bool) {
        guard let first = try journal.firstEntryLSN() else { return (0, false) }
        // No committer journals or crashed journaling: nothing answered is at stake.
        guard let expected = try expectedJournal(txn) else { return (0, false) }
        let checkpoint = UInt64(try metaInteger(txn, .journalLSN) ?? 0)
        // Entries this engine found before and the store already holds (a journal that stopped
        // and was not tidied yet) are not read again at every transaction.
        if let seen = follower.seen, seen.first == first, checkpoint >= seen.last { return (0, false) }
        let (entries, end, stop) = try journal.entriesAndStop()
        let stopped = try judgeStoppedJournal(txn, journal, expected, stop: stop, above: max(checkpoint, entries.last?.lsn ?? 0),
                                              holdingLock: holdingLock)
        follower.seen = entries.first.map { ($0.lsn, entries[entries.count - 1].lsn) } ?? (first, 0)
        let applied = try apply(txn, entries, after: checkpoint)
        // A writer of another process applied what a stopped journal left: once this commits,
        // the store holds it all and expects that journal no more.
        if stopped && !holdingLock && applied > 0 { try deleteMeta(txn, .journalFile) }
        return (applied, end == .torn)
    }
}

extension Store {
    /// Applies, in `txn`, the entries past `checkpoint` and records the last as `journal-lsn`.
    /// - Returns: how many were applied.
    func apply(_ txn: borrowing StoreTransaction, _ entries: [(lsn: UInt64, payload: [UInt8])], after checkpoint: UInt64) throws(HeadroomError) -> Int {
        var applied = 0
        var last = checkpoint
        for entry in entries where entry.lsn > checkpoint {
            try txn.apply(entry.payload)
            applied += 1
            last = entry.lsn
        }
        if applied > 0 { try putMetaInteger(txn, .journalLSN, Int64(last)) }
        return applied
    }
}

extension Engine {
    /// Brings the store up to date with its journal, in one transaction (``Store/applyJournal``),
    /// then empties the journal. Run by a journaling committer as it starts and after a storage
    /// failure, and when an engine opens a store whose journal no process runs.
    /// - Parameter forgetting: no journal runs (this process holds the lock, and does not
    ///   journal): once applied, the journal is no longer expected (``JournalIdentity``), in the
    ///   same transaction. A committer that goes on journaling after a failure keeps it.
    /// - Returns: how many entries were applied.
    @discardableResult
    func recoverJournal(_ journal: JournalFile, forgetting: Bool) throws(HeadroomError) -> Int {
        let (applied, torn) = try growingMap { () throws(HeadroomError) -> (Int, Bool) in
            let txn = try store.beginWrite(applyingJournal: false)
            try store.checkNoJournalOfTheFirstFormat(txn, journal)
            let expected = try store.expectedJournal(txn)
            if let expected { try store.checkJournalIsTheOneExpected(txn, journal, expected) }
            let result = try store.applyJournal(txn, journal, holdingLock: true)
            if forgetting && expected != nil { try store.deleteMeta(txn, .journalFile) }
            if result.applied > 0 || (forgetting && expected != nil) { try txn.commit() }
            return result
        }
        if applied > 0 || torn {
            logger.warning("the store was brought up to date from its journal",
                           metadata: ["entries": "\(applied)", "torn entry dropped": "\(torn)", "store": "\(path)"])
        }
        if try journal.firstEntryLSN() != nil || torn { try journal.empty() }
        return applied
    }
}
