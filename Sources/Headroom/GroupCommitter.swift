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

        public init(batchMax: Int = 512, queueMax: Int = 65_536, gatherMicroseconds: Int = 0) {
            precondition(batchMax >= 1 && queueMax >= batchMax && gatherMicroseconds >= 0)
            self.batchMax = batchMax
            self.queueMax = queueMax
            self.gatherMicroseconds = gatherMicroseconds
        }
    }

    enum Operation: Sendable {
        case authorize(PaymentRequest)
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
    private var writer: Thread?
    private let finished = DispatchSemaphore(value: 0)
    /// How many batches were committed, and how many operations they held. Written by the
    /// writer thread: read them after ``shutdown()``.
    public private(set) var batches = 0
    public private(set) var operationsCommitted = 0

    /// Starts the writer thread; the committer now owns `engine`.
    public convenience init(engine: Engine, options: Options = .init()) {
        self.init(engine: engine, options: options, startWriter: true)
    }

    /// `startWriter: false` is for tests that drive `commit(_:)` by hand.
    init(engine: Engine, options: Options, startWriter: Bool) {
        self.engine = engine
        self.options = options
        guard startWriter else {
            stopping = true
            finished.signal()
            return
        }
        let thread = Thread { [unowned self] in self.run() }
        thread.name = "headroom.group-commit"
        writer = thread
        thread.start()
    }

    /// Answers every operation already submitted, then stops the writer thread.
    public func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        finished.wait()
    }

    deinit {
        if writer != nil && !stopping { shutdown() }
    }

    // MARK: Blocking API

    public func authorize(_ request: PaymentRequest) throws(HeadroomError) -> AuthorizeResult {
        guard case .authorized(let result) = try submit(.authorize(request)) else { preconditionFailure("wrong answer") }
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
        guard case .authorized(let result) = try await submit(.authorize(request)) else { preconditionFailure("wrong answer") }
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
        while let batch = nextBatch() {
            commit(batch)
        }
        finished.signal()
    }

    /// Waits for work; `nil` once stopping with nothing left.
    private func nextBatch() -> [Ticket]? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !stopping { condition.wait() }
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
        case .authorize(let request): return .authorized(try engine.authorize(request, in: txn))
        case .confirm(let id): try engine.confirm(id, in: txn); return .done
        case .release(let id): try engine.release(id, in: txn); return .done
        case .refund(let request): return .refunded(try engine.refund(request, in: txn))
        }
    }
}
