import Foundation
import HeadroomCore
import HeadroomRules
import Logging

/// Group commit for concurrent callers: a single writer thread gathers the operations that
/// callers submit into one write transaction and one sync, and answers every caller only after
/// the commit that holds its operation is durable.
///
/// One refused operation (a conflict, an unknown id) leaves nothing half-written and the rest
/// of the batch goes on; a storage failure fails the whole batch and every caller in it gets
/// the error, with nothing committed. Operations in one batch see each other in submission
/// order, exactly as if they had been committed one by one. The queue is bounded: past
/// `queueMax` waiting operations a caller is answered `overloaded` at once rather than held in
/// unbounded memory.
///
/// The committer opens and owns its ``Engine``: no caller holds it while the committer runs,
/// and ``close()`` hands it back once the writer has stopped. Reads (``explain(_:)``,
/// ``state(of:)``) run on the caller's thread in a snapshot and never wait for the writer.
/// Blocking calls suit thread-based callers; the `async` ones suspend without blocking a
/// thread, so they are safe from Swift concurrency and from SwiftNIO event loops (via a task).
public final class GroupCommitter: PaymentLifecycle, @unchecked Sendable {
    // @unchecked: the queue guards itself; the engine is touched only by the writer thread
    // (and by `init` and `close` before and after it), and by snapshot reads.

    /// How a committer gathers its batches, and whether it journals.
    public struct Options: Sendable {
        /// The most operations in one transaction.
        public var batchMax: Int
        /// The most operations waiting; beyond it callers get `overloaded`.
        public var queueMax: Int
        /// How long the writer waits for more operations before committing a batch smaller than
        /// `batchMax`. 0 commits whatever is waiting at once: with one caller it costs nothing,
        /// with many the batch fills while the previous commit syncs.
        public var gatherMicroseconds: Int
        /// Journal mode (decision 0009), or `nil` for one LMDB commit and sync per batch.
        public var journal: JournalOptions?
        /// Write-behind (decision 0019), or `nil`; not with `journal`.
        public var writeBehind: WriteBehindOptions?

        /// Options with the values given; the defaults suit a front processor's peak.
        public init(batchMax: Int = 512, queueMax: Int = 65_536, gatherMicroseconds: Int = 0, journal: JournalOptions? = nil,
                    writeBehind: WriteBehindOptions? = nil) {
            precondition(batchMax >= 1 && queueMax >= batchMax && gatherMicroseconds >= 0)
            precondition(journal == nil || writeBehind == nil, "journal mode or write-behind, not both")
            self.batchMax = batchMax
            self.queueMax = queueMax
            self.gatherMicroseconds = gatherMicroseconds
            self.journal = journal
            self.writeBehind = writeBehind
        }
    }

    /// Write-behind (decision 0019): each batch is decided from memory (the writes since LMDB
    /// last took them up, over a read snapshot of LMDB), made durable by one append and sync to
    /// the store's journal ring, and answered; a thread of its own applies the durable batches
    /// to LMDB behind, in write transactions of `applyMilliseconds` (or `applyOperations`
    /// operations). Nothing stops the writer while LMDB commits.
    ///
    /// Memory and disk are bounded: the overlay holds at most `overlayBytesMax` bytes of
    /// entries (and an index of 1/16 of that besides), the ring two files of
    /// `journalFileBytes`. When either is full (the store is behind), callers are answered
    /// `overloaded` until the apply catches up.
    ///
    /// While it runs, other processes may read the store (up to an apply behind its answers;
    /// `headroom usage` and `explain` say how old) and may not write it: their writes are
    /// refused `storeBusy`. One committer per store journals at a time, in either mode.
    public struct WriteBehindOptions: Sendable, Equatable {
        /// Milliseconds of durable batches gathered into one apply to LMDB (default 1,000).
        public var applyMilliseconds: Int
        /// Operations after which an apply begins sooner (default 200,000).
        public var applyOperations: Int
        /// Bytes of the overlay's entries at most (default 1 GiB; at least 1 MiB).
        public var overlayBytesMax: Int
        /// Bytes of each of the ring's two files, filled with zeros when the committer starts (default 256 MiB).
        public var journalFileBytes: Int

        /// Write-behind options with the values given.
        public init(applyMilliseconds: Int = 1_000, applyOperations: Int = 200_000, overlayBytesMax: Int = 1 << 30,
                    journalFileBytes: Int = 256 << 20) {
            precondition(applyMilliseconds >= 1 && applyOperations >= 1 && overlayBytesMax >= 1 << 20 && journalFileBytes >= 0)
            self.applyMilliseconds = applyMilliseconds
            self.applyOperations = applyOperations
            self.overlayBytesMax = overlayBytesMax
            self.journalFileBytes = journalFileBytes
        }
    }

    /// Journal mode: each batch is made durable by one write and sync of its writes to the
    /// store's journal, and callers are answered then; LMDB holds the batches in one long write
    /// transaction, committed (a checkpoint) every `checkpointOperations` operations or
    /// `checkpointMilliseconds`, whichever comes first, after which the journal is emptied.
    /// One committer per store journals at a time. Engines in other processes still read (the
    /// last checkpoint) and write: their write transactions wait for the checkpoint (LMDB's
    /// write lock is the journal's for a whole interval), and each first applies what a
    /// journaling process that crashed had answered (`Store.beginWrite(applyingJournal:)`).
    ///
    /// The journal file is filled with zeros to `preallocatedBytes` when the committer starts,
    /// and then overwritten in place (a sync then writes only the data); it grows past that
    /// only if one checkpoint interval writes more. The default holds a full interval of
    /// 100,000 operations (about 40 MiB of effects at the benchmark's mix).
    public struct JournalOptions: Sendable, Equatable {
        /// Operations after which a checkpoint interval ends (default 100,000).
        public var checkpointOperations: Int
        /// Milliseconds after which a checkpoint interval ends (default 1,000): the longest another process waits to write.
        public var checkpointMilliseconds: Int
        /// Bytes of journal file filled with zeros beforehand, so that appends do not grow the file (default 64 MiB; 0: appended).
        public var preallocatedBytes: Int

        /// Journal options with the values given.
        public init(checkpointOperations: Int = 100_000, checkpointMilliseconds: Int = 1_000, preallocatedBytes: Int = 64 << 20) {
            precondition(checkpointOperations >= 1 && checkpointMilliseconds >= 1 && preallocatedBytes >= 0)
            self.checkpointOperations = checkpointOperations
            self.checkpointMilliseconds = checkpointMilliseconds
            self.preallocatedBytes = preallocatedBytes
        }
    }

    /// The options it was opened with.
    public let options: Options
    let engine: Engine
    private let queue: BatchQueue
    private let writer: any BatchWriter
    private let tally = CommitTally()
    private let finished = DispatchSemaphore(value: 0)
    private let closing = NSLock()
    /// ``close()`` was called (guarded by `closing`).
    private var closed = false

    /// Opens the store in `path` (as ``Engine/init(path:cardKey:rules:options:logger:)`` does)
    /// and starts the writer thread; the committer owns the engine until ``close()``.
    /// - Throws: what opening the engine throws; in journal mode, `storeBusy` when another
    ///   committer journals the store (in this process or another), `storage` when the journal
    ///   cannot be opened.
    public convenience init(path: String, cardKey: CardKey, rules: [RuleSource]?, engineOptions: Engine.Options = .init(),
                            options: Options = .init(), logger: Logger = Logger(label: "headroom.engine")) throws(HeadroomError) {
        let engine = try Engine(path: path, cardKey: cardKey, rules: rules, options: engineOptions, logger: logger)
        try self.init(engine: engine, options: options)
    }

    /// Takes over an engine already open (tests; the library opens its own, above).
    /// `startWriter: false` is for tests that drive the writer by hand.
    init(engine: Engine, options: Options = .init(), startWriter: Bool = true, clock: any CommitClock = SystemCommitClock()) throws(HeadroomError) {
        self.engine = engine
        self.options = options
        queue = BatchQueue(batchMax: options.batchMax, queueMax: options.queueMax,
                           gatherMicroseconds: options.gatherMicroseconds, clock: clock,
                           telemetry: engine.telemetry)
        if let journal = options.journal {
            writer = try JournalBatchWriter(engine, journal)
        } else if let writeBehind = options.writeBehind {
            writer = try WriteBehindBatchWriter(engine, writeBehind)
        } else {
            writer = DirectBatchWriter(engine)
        }
        guard startWriter else {
            queue.close()
            finished.signal()
            return
        }
        startNamedThread("headroom-writer") { [unowned self] in
            writer.run(queue, tally)
            finished.signal()
        }
    }

    /// A committer dropped without ``close()`` closes itself: what was submitted is answered,
    /// and the journal's lock let go.
    deinit {
        shutdown()
    }

    // MARK: What it did (read after close)

    /// How many batches were committed (journal mode: journaled), and how many operations they
    /// held.
    public var batches: Int { tally.batches }
    /// How many operations the ``batches`` held.
    public var operationsCommitted: Int { tally.operations }
    /// Journal mode: how many checkpoints were committed, and how long they took in all and at
    /// most (the writer decides nothing while one commits and syncs). Write-behind: how many
    /// applies were committed (the writer goes on deciding meanwhile).
    public var checkpoints: Int { tally.checkpoints }
    /// Journal mode: the checkpoints' time in all, in microseconds.
    public var checkpointMicrosecondsTotal: Int { tally.checkpointMicrosecondsTotal }
    /// Journal mode: the longest checkpoint, in microseconds (the writer decides nothing meanwhile).
    public var checkpointMicrosecondsMax: Int { tally.checkpointMicrosecondsMax }

    // MARK: Stopping

    /// Answers every operation already submitted, stops the writer thread, and hands the
    /// engine back. In journal mode, throws the failure that stopped journaling (a checkpoint,
    /// a sync, a write that failed: on a full disk, say): what was answered is then still in
    /// the journal, and the store's next opening applies it. Calling it again does nothing.
    @discardableResult
    public func close() throws(HeadroomError) -> Engine {
        try stop(crashing: false)
        return engine
    }

    /// ``close()``, with a failure at the end logged rather than thrown.
    @discardableResult
    public func shutdown() -> Engine {
        do {
            try close()
        } catch {
            engine.logger.error("the group committer stopped after a failure", metadata: ["error": "\(error)"])
        }
        return engine
    }

    /// Tests: stops as a crash would in journal mode: the long transaction is aborted instead of
    /// checkpointed and the journal is left as it is (callers already answered stay answered).
    func crashForTesting() {
        try? stop(crashing: true)
    }

    private func stop(crashing: Bool) throws(HeadroomError) {
        closing.lock()
        let first = !closed
        closed = true
        closing.unlock()
        guard first else { return }
        queue.close(crash: crashing)
        finished.wait()
        try writer.stop(clean: !crashing)
    }

    // MARK: Operations

    /// Performs `operation` in the next batch; answers once that batch is durable.
    public func perform(_ operation: EngineOperation) throws(HeadroomError) -> Answer {
        let semaphore = DispatchSemaphore(value: 0)
        let ticket = Ticket(operation, card: operation.card.map(engine.cardKey.hash), semaphore: semaphore,
                            telemetry: engine.telemetry)
        if let refused = queue.enqueue(ticket) {
            ticket.deliver(.failure(refused))  // answered (and counted) at once
            throw refused
        }
        semaphore.wait()
        return try ticket.answer!.get()
    }

    /// ``perform(_:)`` for Swift concurrency: suspends without blocking a thread.
    public func perform(_ operation: EngineOperation) async throws(HeadroomError) -> Answer {
        let card = operation.card.map(engine.cardKey.hash)
        let result: Result<Answer, HeadroomError> = await withCheckedContinuation { continuation in
            let ticket = Ticket(operation, card: card, continuation: continuation, telemetry: engine.telemetry)
            if let refused = queue.enqueue(ticket) { ticket.deliver(.failure(refused)) }
        }
        return try result.get()
    }

    /// Authorizes `request` in the next batch; returns once that batch is durable.
    public func authorize(_ request: PaymentRequest) async throws(HeadroomError) -> AuthorizeResult {
        guard case .authorized(let result) = try await perform(.authorize(request)) else { preconditionFailure("wrong answer") }
        return result
    }

    /// Confirms a payment in the next batch; returns once durable.
    public func confirm(_ id: PaymentID) async throws(HeadroomError) { _ = try await perform(.confirm(id)) }

    /// Releases a payment in the next batch; returns once durable.
    public func release(_ id: PaymentID) async throws(HeadroomError) { _ = try await perform(.release(id)) }

    /// Refunds part or all of a confirmed payment in the next batch; returns once durable.
    public func refund(_ request: RefundRequest) async throws(HeadroomError) -> RefundResult {
        guard case .refunded(let result) = try await perform(.refund(request)) else { preconditionFailure("wrong answer") }
        return result
    }

    // MARK: Reads

    /// The decision a payment would get now, with every limit that applied, changing nothing:
    /// read from a snapshot on the caller's thread, without waiting for the writer.
    public func explain(_ request: PaymentRequest) throws(HeadroomError) -> Explanation {
        try engine.explain(request)
    }

    /// The state of a payment on record (see ``Engine/state(of:)``), read from a snapshot on the
    /// caller's thread.
    public func state(of id: PaymentID) throws(HeadroomError) -> PaymentState? {
        try engine.state(of: id)
    }

    // MARK: Tests

    /// Tests: queues a ticket without waiting for its answer.
    func enqueue(_ ticket: Ticket) -> HeadroomError? { queue.enqueue(ticket) }

    /// Tests: writes the batch in hand, as the writer thread would (with `startWriter: false`).
    func commitForTesting(_ batch: [Ticket]) {
        queue.putBack(batch)
        writer.run(queue, tally)
    }
}
