#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HeadroomCore

/// How a ``GroupCommitter`` makes its batches durable: one LMDB commit and sync per batch
/// (``DirectBatchWriter``), or one journal write and sync per batch with LMDB checkpointed
/// behind (``JournalBatchWriter``). Both run every operation through ``Engine/runBatch(_:in:)``,
/// and handle a refusal the same way: an operation refused after it began writing has its
/// batch's transaction aborted and the batch run again without it.
protocol BatchWriter: AnyObject, Sendable {
    /// Takes batches from `queue` and writes them, delivering every ticket's answer, until the
    /// queue is closed and empty. Runs on the committer's writer thread.
    func run(_ queue: BatchQueue, _ tally: CommitTally)
    /// Called once the writer thread has stopped: lets the store go (journal mode: the
    /// journal's lock), and throws the failure that stopped writing, if any. `clean`: every
    /// answer is in the store.
    func stop(clean: Bool) throws(HeadroomError)
}

/// What a committer has done: written by its writer thread, read after ``GroupCommitter/close()``.
final class CommitTally: @unchecked Sendable {
    // @unchecked: written by the writer thread only; read once it has stopped.
    var batches = 0
    var operations = 0
    var checkpoints = 0
    var checkpointMicrosecondsTotal = 0
    var checkpointMicrosecondsMax = 0

    func batch(_ count: Int) {
        batches += 1
        operations += count
    }
}

// The narrow part of the engine that batch writers use: nothing else of it is reached from
// Commit/.
extension Engine {
    /// Begins a batch's write transaction, with the rule set in force taken up and what is due
    /// expired (``begin(_:)``).
    func beginBatch() throws(HeadroomError) -> StoreTransaction {
        let txn = try store.beginWrite()
        try begin(txn)
        return txn
    }

    /// Runs the batch's operations in `txn`, in order; answers their answers, or `nil` when one
    /// was refused after it had begun writing (it cannot be undone alone: its ``Ticket/refusal``
    /// is set, and the caller aborts `txn` and runs the batch again). A storage failure or
    /// damage throws: the whole batch fails.
    func runBatch(_ batch: [Ticket], in txn: borrowing StoreTransaction) throws(HeadroomError) -> [Result<Answer, HeadroomError>]? {
        var answers: [Result<Answer, HeadroomError>] = []
        answers.reserveCapacity(batch.count)
        let log = store.log
        for ticket in batch {
            if let refusal = ticket.refusal {
                answers.append(.failure(refusal))
                continue
            }
            let writesBefore = log.count
            do throws(HeadroomError) {
                answers.append(.success(try perform(ticket.operation, card: ticket.card, in: txn)))
            } catch where error.code == .storage || error.code == .corrupted {
                throw error
            } catch {
                guard log.count == writesBefore else {
                    ticket.refusal = error
                    return nil
                }
                answers.append(.failure(error))
            }
        }
        return answers
    }

    /// Begins a journaling interval's long transaction (its batches refresh the rules each).
    func beginInterval() throws(HeadroomError) -> StoreTransaction {
        try store.beginWrite()
    }

    /// Takes the store's journal for a committer: its lock (another committer, in this process
    /// or another, gets `storeBusy`), what a crashed committer left applied and forgotten, a new
    /// file header (a new salt) recorded in the store before any answer.
    func startJournaling(preallocating bytes: Int) throws(HeadroomError) -> JournalFile {
        try takeJournal { () throws(HeadroomError) -> JournalFile in
            try journal.begin(salt: UInt64.random(in: 1...UInt64.max), preallocating: bytes)
            try rememberJournal(journal)
            return journal
        }
    }

    /// Takes the journal's lock for a committer of either mode, applies and forgets what a
    /// crashed committer of either mode left, then runs `start` (which begins its files and
    /// records them in the store before any answer). A failure lets the lock go.
    func takeJournal<T>(_ start: () throws(HeadroomError) -> T) throws(HeadroomError) -> T {
        guard !journaling else { throw HeadroomError(.storeBusy, "a committer already journals through this engine") }
        // Another engine may hold the lock for a moment (to learn that no journal runs): try
        // for a fifth of a second before concluding that another journal does.
        guard journal.tryExclusive(waitingMilliseconds: 200) else {
            throw HeadroomError(.storeBusy, "another process journals this store: a store has one journal at a time")
        }
        let started: T
        do {
            // What a crashed committer left, applied and forgotten before this one's files
            // (a new salt) are begun: a crash in between leaves none expected.
            try recoverJournal(journal, forgetting: true)
            try recoverRing()
            started = try start()
        } catch {
            journal.unlock()
            throw error
        }
        journaling = true
        store.follower.journal = nil  // its own entries are its own: none to apply from elsewhere
        return started
    }

    /// Lets another committer journal the store; a clean stop (every answer in the store) also
    /// forgets the committer's files (meta `forgetting`: the journal's, or write-behind's ring),
    /// durably. Throws `failure`, the one that stopped journaling, if any.
    func stopJournaling(failure: HeadroomError?, clean: Bool, forgetting key: MetaKey = .journalFile) throws(HeadroomError) {
        guard journaling else { return }
        defer {
            store.follower.journal = journal
            journal.unlock()
            journaling = false
        }
        if let failure { throw failure }
        if clean { try forgetJournal(key) }
    }

    /// The journal's view of the writes: captured while a journaling batch runs.
    var writeLog: WriteLog { store.log }

    /// Commits a journaling interval's transaction with the last entry it holds, and makes it
    /// durable (a store that does not sync each commit is synced here, before the journal that
    /// covers the interval may be emptied).
    func checkpoint(_ txn: consuming StoreTransaction, lsn: UInt64) throws(HeadroomError) {
        try store.putMetaInteger(txn, .journalLSN, Int64(lsn))
        try txn.commit()
        if !store.environment.options.syncOnCommit { try syncStore() }
    }
}

/// One write transaction, one commit and one sync per batch; then every answer.
final class DirectBatchWriter: BatchWriter, @unchecked Sendable {
    // @unchecked: used by the writer thread only.
    private let engine: Engine

    init(_ engine: Engine) {
        self.engine = engine
    }

    func run(_ queue: BatchQueue, _ tally: CommitTally) {
        while let batch = queue.next() {
            write(batch, tally)
        }
    }

    /// When the map is full, or an operation was refused after it began writing, the
    /// transaction is dropped (aborted) and the batch runs again. Nothing half-done is ever
    /// committed, and no operation pays for a nested transaction.
    private func write(_ batch: [Ticket], _ tally: CommitTally) {
        let answers: [Result<Answer, HeadroomError>]
        do throws(HeadroomError) {
            answers = try engine.growingMap { () throws(HeadroomError) -> [Result<Answer, HeadroomError>] in
                while true {
                    let txn = try engine.beginBatch()
                    if let answers = try engine.runBatch(batch, in: txn) {
                        let began = Telemetry.now()
                        try txn.commit()
                        engine.telemetry.commitDuration.recordNanoseconds(Int64(Telemetry.now() &- began))
                        return answers
                    }
                }
            }
        } catch {
            for ticket in batch { ticket.deliver(.failure(error)) }
            return
        }
        tally.batch(batch.count)
        for (ticket, answer) in zip(batch, answers) { ticket.deliver(answer) }
    }

    func stop(clean: Bool) throws(HeadroomError) {}
}
