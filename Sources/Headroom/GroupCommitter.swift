import Foundation
import HeadroomCore
import LMDBKit

/// Group commit for concurrent callers: a single writer thread gathers the operations that
/// callers submit into one LMDB write transaction and one sync, and answers every caller only
/// after the commit that holds its operation is durable.
///
/// One refused operation (a conflict, an unknown id) leaves nothing half-written and the rest
/// of the batch goes on (see ``commit(_:)``); a storage failure aborts the whole batch and every
/// caller in it gets the error, with nothing committed. Operations in one batch see each other in submission order, exactly as if they had
/// been committed one by one. The queue is bounded: past `queueMax` waiting operations a caller is
/// answered `overloaded` at once rather than held in unbounded memory.
///
/// The committer owns its ``Engine``: while it runs, use the engine only through it. Reads
/// (``explain(_:)``) run on the caller's thread in a snapshot and never wait for the writer. Blocking
/// calls suit thread-based callers; the `async` ones suspend without blocking a thread, so they
/// are safe from Swift concurrency and from SwiftNIO event loops (via a task).
public final class GroupCommitter: @unchecked Sendable {
    // @unchecked: `queue`, `stopping` and `batches` are guarded by `condition`; the engine is
    // touched only by the writer thread (and by `init` and `shutdown` before and after it).

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

        public init(batchMax: Int = 512, queueMax: Int = 65_536, gatherMicroseconds: Int = 0, journal: JournalOptions? = nil) {
            precondition(batchMax >= 1 && queueMax >= batchMax && gatherMicroseconds >= 0)
            self.batchMax = batchMax
            self.queueMax = queueMax
            self.gatherMicroseconds = gatherMicroseconds
            self.journal = journal
        }
    }

    /// Journal mode: each batch is made durable by one write and sync of its writes to the
    /// store's journal, and callers are answered then; LMDB holds the batches in one long write
    /// transaction, committed (a checkpoint) every `checkpointOperations` operations or
    /// `checkpointMilliseconds`, whichever comes first, after which the journal is emptied.
    /// One committer per store journals at a time. Engines in other processes still read (the
    /// last checkpoint) and write: their write transactions wait for the checkpoint (LMDB's
    /// write lock is the journal's for a whole interval), and each first applies what a
    /// journaling process that crashed had answered (``Store/beginWrite(applyingJournal:)``).
    ///
    /// The journal file is filled with zeros to `preallocatedBytes` when the committer starts,
    /// and then overwritten in place (a sync then writes only the data); it grows past that
    /// only if one checkpoint interval writes more. The default holds a full interval of
    /// 100,000 operations (about 40 MiB of effects at the benchmark's mix).
    public struct JournalOptions: Sendable, Equatable {
        public var checkpointOperations: Int
        public var checkpointMilliseconds: Int
        public var preallocatedBytes: Int

        public init(checkpointOperations: Int = 100_000, checkpointMilliseconds: Int = 1_000, preallocatedBytes: Int = 64 << 20) {
            precondition(checkpointOperations >= 1 && checkpointMilliseconds >= 1 && preallocatedBytes >= 0)
            self.checkpointOperations = checkpointOperations
            self.checkpointMilliseconds = checkpointMilliseconds
            self.preallocatedBytes = preallocatedBytes
        }
    }

    enum Operation: Sendable {
        /// The card already hashed, on the caller's thread.
        case authorize(Payment)
        case confirm(PaymentID)
        case release(PaymentID)
        case refund(RefundRequest)
    }

    enum Answer: Sendable {
        case authorized(AuthorizeResult)
        case done
        case refunded(RefundResult)
    }

    /// One submitted operation and where its answer goes.
    final class Ticket: @unchecked Sendable {
        // @unchecked: `answer` is written by the writer before `deliver` and read after it.
        let operation: Operation
        var answer: Result<Answer, HeadroomError>?
        private let semaphore: DispatchSemaphore?
        private let continuation: CheckedContinuation<Result<Answer, HeadroomError>, Never>?

        init(_ operation: Operation, semaphore: DispatchSemaphore) {
            self.operation = operation
            self.semaphore = semaphore
            self.continuation = nil
        }

        init(_ operation: Operation, continuation: CheckedContinuation<Result<Answer, HeadroomError>, Never>) {
            self.operation = operation
            self.semaphore = nil
            self.continuation = continuation
        }

        func deliver(_ result: Result<Answer, HeadroomError>) {
            answer = result
            semaphore?.signal()
            continuation?.resume(returning: result)
        }
    }

    public let options: Options
    let engine: Engine
    private let condition = NSCondition()
    private var queue: [Ticket] = []
    private var stopping = false
    /// Tests: stop as a crash would (see ``crashForTesting()``).
    private var crashing = false
    /// ``close()`` was called.
    private var closed = false
    private var writerStarted = false
    private let finished = DispatchSemaphore(value: 0)
    /// How many batches were committed (journal mode: journaled), and how many operations they
    /// held. Written by the writer thread: read them after ``shutdown()``.
    public private(set) var batches = 0
    public private(set) var operationsCommitted = 0
    /// Journal mode: how many checkpoints were committed, and how long they took in all and at
    /// most (the writer decides nothing while one commits and syncs). Read them after
    /// ``shutdown()``, like `batches`.
    public private(set) var checkpoints = 0
    public private(set) var checkpointMicrosecondsTotal = 0
    public private(set) var checkpointMicrosecondsMax = 0
    /// Journal mode: the journal (locked while the committer runs) and its syncing thread.
    private let journal: JournalFile?
    private let syncer: JournalSyncer?

    /// Starts the writer thread; the committer now owns `engine`.
    /// - Throws: only in journal mode: `storeBusy` when another committer journals the store
    ///   (in this process or another), `storage` when the journal cannot be opened.
    public convenience init(engine: Engine, options: Options = .init()) throws(HeadroomError) {
        try self.init(engine: engine, options: options, startWriter: true)
    }

    /// `startWriter: false` is for tests that drive `commit(_:)` by hand.
    init(engine: Engine, options: Options, startWriter: Bool) throws(HeadroomError) {
        self.engine = engine
        self.options = options
        if options.journal != nil {
            guard !engine.journaling else { throw HeadroomError(.storeBusy, "a committer already journals through this engine") }
            let file = engine.journal
            // Another engine may hold the lock for a moment (to learn that no journal runs): try
            // for a fifth of a second before concluding that another journal does.
            var locked = file.tryExclusive()
            for _ in 0..<40 where !locked {
                usleep(5_000)
                locked = file.tryExclusive()
            }
            guard locked else {
                throw HeadroomError(.storeBusy, "another process journals this store: a store has one journal at a time")
            }
            do {
                // The journal of a crashed committer applied and forgotten before this one's
                // file header (a new salt) is written: a crash in between leaves none expected.
                try engine.recoverJournal(file, forgetting: true)
                try file.begin(salt: UInt64.random(in: 1...UInt64.max), preallocating: options.journal!.preallocatedBytes)
                try engine.rememberJournal(file)
            } catch {
                file.unlock()
                throw error
            }
            engine.journaling = true
            engine.store.writes.journal = nil  // its own entries are its own: none to apply from elsewhere
            journal = file
            syncer = JournalSyncer(file)
        } else {
            journal = nil
            syncer = nil
        }
        guard startWriter else {
            stopping = true
            finished.signal()
            return
        }
        startNamedThread("headroom-writer") { [unowned self] in self.run() }
        writerStarted = true
    }

    /// Answers every operation already submitted, then stops the writer thread. A failure at
    /// the end (see ``close()``) is logged.
    public func shutdown() {
        do {
            try close()
        } catch {
            engine.logger.error("the group committer stopped after a failure", metadata: ["error": "\(error)"])
        }
    }

    /// Answers every operation already submitted, stops the writer thread, and says whether all
    /// that was answered is in the store: in journal mode, throws the failure that stopped
    /// journaling (a checkpoint, a sync, a write that failed: on a full disk, say). What was
    /// answered is then still in the journal, and the store's next opening applies it. Calling
    /// it again does nothing.
    public func close() throws(HeadroomError) {
        condition.lock()
        let first = !closed
        closed = true
        stopping = true
        condition.broadcast()
        condition.unlock()
        guard first else { return }
        finished.wait()
        try releaseJournal(clean: true)
    }

    /// Lets another committer journal the store once this one has stopped; a clean stop (every
    /// answer checkpointed) also forgets the journal file (``Engine/forgetJournal()``).
    private func releaseJournal(clean: Bool) throws(HeadroomError) {
        guard let journal, engine.journaling else { return }
        defer {
            engine.store.writes.journal = journal
            journal.unlock()
            engine.journaling = false
        }
        if let failure = syncer?.failure { throw failure }
        if clean { try engine.forgetJournal() }
    }

    /// Tests: stops as a crash would in journal mode: the long transaction is aborted instead of
    /// checkpointed and the journal is left as it is (callers already answered stay answered).
    func crashForTesting() {
        condition.lock()
        crashing = true
        closed = true
        stopping = true
        condition.broadcast()
        condition.unlock()
        finished.wait()
        try? releaseJournal(clean: false)
    }

    private var isCrashing: Bool {
        condition.lock()
        defer { condition.unlock() }
        return crashing
    }

    deinit {
        if writerStarted && !stopping { shutdown() }
    }

    // MARK: Blocking API

    public func authorize(_ request: PaymentRequest) throws(HeadroomError) -> AuthorizeResult {
        guard case .authorized(let result) = try submit(.authorize(engine.hashed(request))) else { preconditionFailure("wrong answer") }
        return result
    }

    public func confirm(_ id: PaymentID) throws(HeadroomError) { _ = try submit(.confirm(id)) }

    public func release(_ id: PaymentID) throws(HeadroomError) { _ = try submit(.release(id)) }

    public func refund(_ request: RefundRequest) throws(HeadroomError) -> RefundResult {
        guard case .refunded(let result) = try submit(.refund(request)) else { preconditionFailure("wrong answer") }
        return result
    }

    func submit(_ operation: Operation) throws(HeadroomError) -> Answer {
        let semaphore = DispatchSemaphore(value: 0)
        let ticket = Ticket(operation, semaphore: semaphore)
        if let refused = enqueue(ticket) { throw refused }
        semaphore.wait()
        return try ticket.answer!.get()
    }

    // MARK: Reads

    /// The decision a payment would get now, with every limit that applied, changing nothing:
    /// read from a snapshot on the caller's thread, without waiting for the writer.
    public func explain(_ request: PaymentRequest) throws(HeadroomError) -> Explanation {
        try engine.explain(request)
    }

    /// The state of a payment on record (see ``Engine/state(of:)``), read from a snapshot on the
    /// caller's thread.
    public func state(of id: PaymentID) throws(HeadroomError) -> String? {
        try engine.state(of: id)
    }

    // MARK: Async API

    public func authorize(_ request: PaymentRequest) async throws(HeadroomError) -> AuthorizeResult {
        guard case .authorized(let result) = try await submit(.authorize(engine.hashed(request))) else { preconditionFailure("wrong answer") }
        return result
    }

    public func confirm(_ id: PaymentID) async throws(HeadroomError) { _ = try await submit(.confirm(id)) }

    public func release(_ id: PaymentID) async throws(HeadroomError) { _ = try await submit(.release(id)) }

    public func refund(_ request: RefundRequest) async throws(HeadroomError) -> RefundResult {
        guard case .refunded(let result) = try await submit(.refund(request)) else { preconditionFailure("wrong answer") }
        return result
    }

    func submit(_ operation: Operation) async throws(HeadroomError) -> Answer {
        let result: Result<Answer, HeadroomError> = await withCheckedContinuation { continuation in
            let ticket = Ticket(operation, continuation: continuation)
            if let refused = enqueue(ticket) { ticket.deliver(.failure(refused)) }
        }
        return try result.get()
    }

    // MARK: The writer

    /// Queues the ticket; answers why not when it cannot.
    func enqueue(_ ticket: Ticket) -> HeadroomError? {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return HeadroomError(.overloaded, "the group committer is shut down") }
        guard queue.count < options.queueMax else {
            return HeadroomError(.overloaded, "\(queue.count) operations are waiting for the disk: try again shortly")
        }
        queue.append(ticket)
        condition.signal()
        return nil
    }

    private func run() {
        if let journaling = options.journal, let syncer {
            runJournaled(journaling, syncer)
        } else {
            while let batch = nextBatch() {
                commit(batch)
            }
        }
        finished.signal()
    }

    /// Waits for work (until `deadline`, when given); `nil` once stopping with nothing left, or
    /// at the deadline.
    private func nextBatch(until deadline: Date? = nil) -> [Ticket]? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !stopping {
            if let deadline {
                if !condition.wait(until: deadline) { break }
            } else {
                condition.wait()
            }
        }
        if queue.isEmpty { return nil }
        if options.gatherMicroseconds > 0 && queue.count < options.batchMax && !stopping {
            _ = condition.wait(until: Date(timeIntervalSinceNow: Double(options.gatherMicroseconds) / 1e6))
        }
        let batch = Array(queue.prefix(options.batchMax))
        queue.removeFirst(batch.count)
        return batch
    }

    /// One transaction, one sync, then every answer. When the map is full, the batch (whose
    /// transaction is then aborted) runs again after the map has grown.
    ///
    /// Operations run directly in the batch's transaction. An operation refused before it wrote
    /// anything (the usual case: a conflict, an unknown id, a wrong state) just gets its refusal.
    /// One refused after it began writing (a counter that would overflow) cannot be undone
    /// alone: the batch is aborted and run again with that operation answered by its refusal
    /// and left out. Nothing half-done is ever committed, and no operation pays for a nested
    /// transaction (which in LMDB copies and merges the batch's dirty page list).
    func commit(_ batch: [Ticket]) {
        var refusedAfterWriting: [Int: HeadroomError] = [:]
        var answers: [Result<Answer, HeadroomError>]?
        do throws(HeadroomError) {
            while answers == nil {
                answers = try engine.growingMap { () throws(HeadroomError) -> [Result<Answer, HeadroomError>]? in
                    var answers: [Result<Answer, HeadroomError>] = []
                    answers.reserveCapacity(batch.count)
                    let txn = try engine.store.beginWrite()
                    try engine.refreshRules(txn)
                    for (i, ticket) in batch.enumerated() {
                        if let refusal = refusedAfterWriting[i] {
                            answers.append(.failure(refusal))
                            continue
                        }
                        let writesBefore = engine.store.writes.count
                        do throws(HeadroomError) {
                            answers.append(.success(try perform(ticket.operation, in: txn)))
                        } catch where error.code == .storage || error.code == .corrupted {
                            throw error
                        } catch {
                            guard engine.store.writes.count == writesBefore else {
                                refusedAfterWriting[i] = error
                                return nil  // the transaction is dropped: aborted; run the batch again
                            }
                            answers.append(.failure(error))
                        }
                    }
                    try engine.store.commit(txn)
                    return answers
                }
            }
        } catch {
            for ticket in batch { ticket.deliver(.failure(error)) }
            return
        }
        batches += 1
        operationsCommitted += batch.count
        for (ticket, answer) in zip(batch, answers!) { ticket.deliver(answer) }
    }

    /// Runs one operation in the batch's transaction.
    private func perform(_ operation: Operation, in txn: borrowing Transaction) throws(HeadroomError) -> Answer {
        switch operation {
        case .authorize(let payment): return .authorized(try engine.authorize(payment, in: txn))
        case .confirm(let id): try engine.confirm(id, in: txn); return .done
        case .release(let id): try engine.release(id, in: txn); return .done
        case .refund(let request): return .refunded(try engine.refund(request, in: txn))
        }
    }

    // MARK: Journal mode

    /// Checkpoint intervals, one after another, until stopped; then the syncer is drained.
    private func runJournaled(_ journaling: JournalOptions, _ syncer: JournalSyncer) {
        var lsn: UInt64
        do {
            lsn = try engine.journalLSN()
        } catch {
            syncer.fail(error)
            while let batch = nextBatch() { for ticket in batch { ticket.deliver(.failure(error)) } }
            syncer.shutdown()
            return
        }
        while let first = nextBatch() {
            lsn = interval(first, after: lsn, journaling, syncer)
        }
        syncer.shutdown()
    }

    /// One checkpoint interval: batches in one long write transaction, each journaled (and its
    /// callers answered, by the syncer) as it ends; then the checkpoint commit, after which the
    /// journal is emptied. Answers the last lsn the store holds.
    private func interval(_ first: [Ticket], after start: UInt64, _ journaling: JournalOptions, _ syncer: JournalSyncer) -> UInt64 {
        var lsn = start
        var current: [Ticket]? = first  // the batch not yet handed to the syncer
        let deadline = Date(timeIntervalSinceNow: Double(journaling.checkpointMilliseconds) / 1000)
        let deadlineNanoseconds = DispatchTime.now().uptimeNanoseconds + UInt64(journaling.checkpointMilliseconds) * 1_000_000
        let writes = engine.store.writes
        do throws(HeadroomError) {
            let txn = try engine.store.beginWrite()
            var operations = 0
            while let batch = current {
                if let failure = syncer.failure { throw failure }
                try engine.refreshRules(txn)
                writes.effects.bytes.removeAll(keepingCapacity: true)
                writes.capturing = true
                defer { writes.capturing = false }
                let answers = try runJournaled(batch, in: txn)
                lsn += 1
                syncer.submit(.entry(journal!.encode(lsn: lsn, payload: writes.effects.bytes), batch, answers))
                current = nil
                batches += 1
                operationsCommitted += batch.count
                operations += batch.count
                // The interval ends at its operation count or its deadline, also when operations
                // never stop coming (waiting for a batch only notices the deadline when idle).
                if operations < journaling.checkpointOperations && DispatchTime.now().uptimeNanoseconds < deadlineNanoseconds {
                    current = nextBatch(until: deadline)
                }
            }
            if isCrashing {
                syncer.drain()
                return lsn  // the transaction is dropped: aborted, as a crash would leave it
            }
            let began = DispatchTime.now().uptimeNanoseconds
            try engine.store.putMetaInteger(txn, "journal-lsn", Int64(lsn))
            try engine.store.commit(txn)
            // A store that syncs each commit is on disk now; one that does not is synced here,
            // before the journal that covers the interval is emptied.
            if !engine.store.environment.options.syncOnCommit { try engine.syncStore() }
            let took = Int((DispatchTime.now().uptimeNanoseconds - began) / 1000)
            checkpoints += 1
            checkpointMicrosecondsTotal += took
            checkpointMicrosecondsMax = max(checkpointMicrosecondsMax, took)
            syncer.submit(.empty)
            return lsn
        } catch {
            // The long transaction was aborted. What was handed to the syncer is (or will be) in
            // the journal, its callers answered: once written, the store is brought up to date
            // from it. The batch in hand runs again when the map was full, else gets the error.
            syncer.drain()
            do throws(HeadroomError) {
                if error.isMapFull { try engine.growMap() }
                try engine.recoverJournal(journal!, forgetting: false)
                lsn = try engine.journalLSN()
            } catch {
                syncer.fail(error)
            }
            if let batch = current {
                if error.isMapFull && syncer.failure == nil {
                    condition.lock()
                    queue.insert(contentsOf: batch, at: 0)
                    condition.unlock()
                } else {
                    for ticket in batch { ticket.deliver(.failure(error)) }
                }
            }
            return lsn
        }
    }

    /// Runs a batch in journal mode's long transaction. An operation refused after it began
    /// writing (an overflowing counter, after others were added to) has its writes undone from
    /// the effect log, which holds them (only counter additions come before such a refusal).
    private func runJournaled(_ batch: [Ticket], in txn: borrowing Transaction) throws(HeadroomError) -> [Result<Answer, HeadroomError>] {
        let writes = engine.store.writes
        var answers: [Result<Answer, HeadroomError>] = []
        answers.reserveCapacity(batch.count)
        for ticket in batch {
            let mark = writes.effects.bytes.count
            let writesBefore = writes.count
            do throws(HeadroomError) {
                answers.append(.success(try perform(ticket.operation, in: txn)))
            } catch where error.code == .storage || error.code == .corrupted {
                throw error
            } catch {
                if writes.count != writesBefore { try undo(since: mark, in: txn) }
                answers.append(.failure(error))
            }
        }
        return answers
    }

    /// Takes back the counter additions logged since `mark`, newest first, and drops them from
    /// the log.
    private func undo(since mark: Int, in txn: borrowing Transaction) throws(HeadroomError) {
        let writes = engine.store.writes
        var additions: [(CounterKey, Int64, Int64)] = []
        try EffectLog.forEach(Array(writes.effects.bytes[mark...])) { (item) throws(HeadroomError) in
            guard case .counter(let key, let amountFen, let count) = item else {
                throw HeadroomError(.corrupted, "a refused operation wrote a payment record: it cannot be undone")
            }
            additions.append((key, amountFen, count))
        }
        writes.capturing = false
        defer { writes.capturing = true }
        for (key, amountFen, count) in additions.reversed() {
            try engine.store.add(txn, key, amountFen: -amountFen, count: -count)
        }
        writes.effects.bytes.removeLast(writes.effects.bytes.count - mark)
    }
}

/// Journal mode's second thread: writes the journal entries the writer hands it, as many as
/// are waiting in one append and one sync, and then answers their callers; empties the journal
/// after each checkpoint. The writer goes on with the next batch meanwhile.
final class JournalSyncer: @unchecked Sendable {
    // @unchecked: `items`, `busy`, `stopping` and `failed` are guarded by `condition`.

    enum Item {
        /// An encoded entry, the batch it journals, and their answers.
        case entry([UInt8], [GroupCommitter.Ticket], [Result<GroupCommitter.Answer, HeadroomError>])
        /// Empty the journal: everything before this is in the store, committed and synced.
        case empty
    }

    /// Entries waiting at most: beyond, the writer waits (memory stays bounded).
    static let depthMax = 256

    private let file: JournalFile
    private let condition = NSCondition()
    private var items: [Item] = []
    private var busy = false
    private var stopping = false
    private var failed: HeadroomError?
    private let finished = DispatchSemaphore(value: 0)

    init(_ file: JournalFile) {
        self.file = file
        startNamedThread("headroom-syncer") { [unowned self] in self.run() }
    }

    /// The failure that stopped journaling, if any: the writer then refuses everything.
    var failure: HeadroomError? {
        condition.lock()
        defer { condition.unlock() }
        return failed
    }

    func fail(_ error: HeadroomError) {
        condition.lock()
        if failed == nil { failed = error }
        condition.unlock()
    }

    func submit(_ item: Item) {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= Self.depthMax { condition.wait() }
        items.append(item)
        condition.broadcast()
    }

    /// Waits until everything submitted is written (or refused) and answered.
    func drain() {
        condition.lock()
        defer { condition.unlock() }
        while !items.isEmpty || busy { condition.wait() }
    }

    func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        finished.wait()
    }

    private func run() {
        while true {
            condition.lock()
            while items.isEmpty && !stopping { condition.wait() }
            if items.isEmpty {
                condition.unlock()
                break
            }
            let taken = items
            items.removeAll(keepingCapacity: true)
            busy = true
            let failedBefore = failed
            condition.broadcast()
            condition.unlock()
            write(taken, failedBefore)
            condition.lock()
            busy = false
            condition.broadcast()
            condition.unlock()
        }
        finished.signal()
    }

    /// Runs of entries go out in one append and sync; truncations in their place.
    private func write(_ taken: [Item], _ failedBefore: HeadroomError?) {
        var failure = failedBefore
        var i = 0
        while i < taken.count {
            if case .empty = taken[i] {
                if failure == nil {
                    do throws(HeadroomError) { try file.empty() } catch { failure = error; fail(error) }
                }
                i += 1
                continue
            }
            var bytes: [UInt8] = []
            var answered: [([GroupCommitter.Ticket], [Result<GroupCommitter.Answer, HeadroomError>])] = []
            while i < taken.count, case .entry(let entry, let tickets, let answers) = taken[i] {
                bytes.append(contentsOf: entry)
                answered.append((tickets, answers))
                i += 1
            }
            if failure == nil {
                do throws(HeadroomError) { try file.appendAndSync(bytes) } catch { failure = error; fail(error) }
            }
            for (tickets, answers) in answered {
                if let failure {
                    for ticket in tickets { ticket.deliver(.failure(failure)) }
                } else {
                    for (ticket, answer) in zip(tickets, answers) { ticket.deliver(answer) }
                }
            }
        }
    }
}
