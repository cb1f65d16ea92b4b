import HeadroomCore

/// Journal mode (decision 0009): each batch is made durable by one write and sync of its writes
/// to the store's journal (by the ``JournalSyncer``, which then answers its callers); LMDB holds
/// the batches of a checkpoint interval in one long write transaction, committed at the
/// interval's end, after which the journal is emptied.
final class JournalBatchWriter: BatchWriter, @unchecked Sendable {
    // @unchecked: `run` is the writer thread's; `stop` runs after it has ended.
    private let engine: Engine
    private let options: GroupCommitter.JournalOptions
    private let journal: JournalFile
    private let syncer: JournalSyncer

    /// Takes the store's journal: its lock, what a crashed committer left applied, a new file
    /// header (a new salt) recorded in the store before any answer.
    /// - Throws: `storeBusy` when another committer journals the store (in this process or
    ///   another), `storage` when the journal cannot be opened or preallocated.
    init(_ engine: Engine, _ options: GroupCommitter.JournalOptions) throws(HeadroomError) {
        let file = try engine.startJournaling(preallocating: options.preallocatedBytes)
        self.engine = engine
        self.options = options
        self.journal = file
        self.syncer = JournalSyncer(file, telemetry: engine.telemetry)
    }

    func run(_ queue: BatchQueue, _ tally: CommitTally) {
        var lsn: UInt64
        do {
            lsn = try engine.journalLSN()
        } catch {
            syncer.fail(error)
            queue.refuseAll(error)
            syncer.shutdown()
            return
        }
        while let first = queue.next() {
            lsn = interval(first, after: lsn, queue, tally)
        }
        syncer.shutdown()
    }

    /// Lets another committer journal the store; a clean stop (every answer checkpointed) also
    /// forgets the journal file (``Engine/forgetJournal()``).
    func stop(clean: Bool) throws(HeadroomError) {
        try engine.stopJournaling(failure: syncer.failure, clean: clean)
    }

    /// How an interval ended.
    private enum End {
        case checkpointed
        /// Crashing (tests): the long transaction was dropped, the journal left as it is.
        case dropped
        /// One of the batch's operations was refused after it began writing: the batch runs
        /// again, without it, in a new interval.
        case rerun([Ticket])
        case failed(HeadroomError, [Ticket]?)
    }

    /// One checkpoint interval; answers the last lsn the store holds.
    private func interval(_ first: [Ticket], after start: UInt64, _ queue: BatchQueue, _ tally: CommitTally) -> UInt64 {
        var lsn = start
        switch batches(first, &lsn, queue, tally) {
        case .checkpointed:
            syncer.submit(.empty)
            return lsn
        case .dropped:
            return lsn
        case .rerun(let batch):
            queue.putBack(batch)
            return recover(after: nil, lsn: lsn)
        case .failed(let error, let batch):
            let lsn = recover(after: error, lsn: lsn)
            guard let batch else { return lsn }
            if error.isMapFull && syncer.failure == nil {
                queue.putBack(batch)
            } else {
                for ticket in batch { ticket.deliver(.failure(error)) }
            }
            return lsn
        }
    }

    /// The batches of one interval in one long transaction, each journaled (and its callers
    /// answered, by the syncer) as it ends; then the checkpoint. The interval ends at its
    /// operation count or its deadline, also when operations never stop coming.
    private func batches(_ first: [Ticket], _ lsn: inout UInt64, _ queue: BatchQueue, _ tally: CommitTally) -> End {
        let deadline = queue.clock.nanoseconds() + UInt64(options.checkpointMilliseconds) * 1_000_000
        var current: [Ticket]? = first  // the batch not yet handed to the syncer
        do throws(HeadroomError) {
            let txn = try engine.beginInterval()
            var operations = 0
            while let batch = current {
                if let failure = syncer.failure { throw failure }
                guard let entry = try journaled(batch, lsn: lsn + 1, in: txn) else { return .rerun(batch) }
                lsn += 1
                syncer.submit(.entry(entry, batch))
                current = nil
                tally.batch(batch.count)
                operations += batch.count
                if operations < options.checkpointOperations && queue.clock.nanoseconds() < deadline {
                    current = queue.next(until: deadline)
                }
            }
            if queue.isCrashing {
                syncer.drain()
                return .dropped  // the transaction is dropped: aborted, as a crash would leave it
            }
            let began = queue.clock.nanoseconds()
            try engine.checkpoint(txn, lsn: lsn)
            let took = Int((queue.clock.nanoseconds() - began) / 1000)
            engine.telemetry.checkpointDuration.recordMicroseconds(took)
            tally.checkpoints += 1
            tally.checkpointMicrosecondsTotal += took
            tally.checkpointMicrosecondsMax = max(tally.checkpointMicrosecondsMax, took)
            return .checkpointed
        } catch {
            return .failed(error, current)
        }
    }

    /// Runs a batch with its writes captured, and encodes them as the journal entry `lsn`;
    /// `nil` when an operation was refused after writing (the interval must be dropped).
    private func journaled(_ batch: [Ticket], lsn: UInt64, in txn: borrowing StoreTransaction) throws(HeadroomError) -> JournalSyncer.Entry? {
        let log = engine.writeLog
        log.effects.bytes.removeAll(keepingCapacity: true)
        log.capturing = true
        defer { log.capturing = false }
        try engine.begin(txn)  // its expiries are journaled with the batch
        guard let answers = try engine.runBatch(batch, in: txn) else { return nil }
        return .init(bytes: journal.encode(lsn: lsn, payload: log.effects.bytes), answers: answers, lsn: lsn)
    }

    /// The long transaction was aborted. What was handed to the syncer is (or will be) in the
    /// journal, its callers answered: once written, the store is brought up to date from it.
    /// Answers the last lsn the store then holds (`lsn` when that fails: journaling stops).
    private func recover(after error: HeadroomError?, lsn: UInt64) -> UInt64 {
        syncer.drain()
        do throws(HeadroomError) {
            if let error, error.isMapFull { try engine.growMap() }
            try engine.recoverJournal(journal, forgetting: false)
            return try engine.journalLSN()
        } catch {
            syncer.fail(error)
            return lsn
        }
    }
}
