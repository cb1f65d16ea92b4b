import Foundation
import HeadroomCore

/// One submitted operation and where its answer goes.
final class Ticket: @unchecked Sendable {
    // @unchecked: `answer` and `refusal` are written by the writer thread before `deliver`, and
    // `answer` read by the caller after it.
    let operation: EngineOperation
    /// The keyed hash of the operation's card number, taken on the caller's thread.
    let card: CardHash?
    var answer: Result<Answer, HeadroomError>?
    /// Set when the operation was refused after it had begun writing: its batch runs again
    /// without it, and it gets this refusal (``Engine/runBatch(_:in:)``).
    var refusal: HeadroomError?
    private let semaphore: DispatchSemaphore?
    private let continuation: CheckedContinuation<Result<Answer, HeadroomError>, Never>?
    /// Where the answer is counted, and when the caller asked (``Telemetry/now()``).
    private let telemetry: Telemetry?
    private let started: UInt64

    init(_ operation: EngineOperation, card: CardHash?, semaphore: DispatchSemaphore, telemetry: Telemetry? = nil) {
        self.operation = operation
        self.card = card
        self.semaphore = semaphore
        self.continuation = nil
        self.telemetry = telemetry
        started = Telemetry.now()
    }

    init(_ operation: EngineOperation, card: CardHash?, continuation: CheckedContinuation<Result<Answer, HeadroomError>, Never>,
         telemetry: Telemetry? = nil) {
        self.operation = operation
        self.card = card
        self.semaphore = nil
        self.continuation = continuation
        self.telemetry = telemetry
        started = Telemetry.now()
    }

    func deliver(_ result: Result<Answer, HeadroomError>) {
        telemetry?.answered(operation, result, started: started)
        answer = result
        semaphore?.signal()
        continuation?.resume(returning: result)
    }
}

/// Group commit's queue: callers put tickets in, the writer takes them out in batches. Bounded:
/// past `queueMax` waiting operations a caller is refused at once (`overloaded`).
final class BatchQueue: @unchecked Sendable {
    // @unchecked: `tickets`, `stopping` and `crashing` are guarded by `condition`.
    private let condition = NSCondition()
    private var tickets: [Ticket] = []
    private var stopping = false
    private var crashing = false
    let batchMax: Int
    let queueMax: Int
    let gatherNanoseconds: UInt64
    let clock: any CommitClock
    /// Where batch sizes and the queue's depth are reported.
    let telemetry: Telemetry?

    init(batchMax: Int, queueMax: Int, gatherMicroseconds: Int, clock: any CommitClock, telemetry: Telemetry? = nil) {
        self.telemetry = telemetry
        self.batchMax = batchMax
        self.queueMax = queueMax
        self.gatherNanoseconds = UInt64(gatherMicroseconds) * 1_000
        self.clock = clock
    }

    /// Queues the ticket; answers why not when it cannot.
    func enqueue(_ ticket: Ticket) -> HeadroomError? {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return HeadroomError(.overloaded, "the group committer is shut down") }
        guard tickets.count < queueMax else {
            return HeadroomError(.overloaded, "\(tickets.count) operations are waiting for the disk: try again shortly")
        }
        tickets.append(ticket)
        condition.signal()
        return nil
    }

    /// Puts a batch back at the front, to run first (its transaction was aborted).
    func putBack(_ batch: [Ticket]) {
        condition.lock()
        tickets.insert(contentsOf: batch, at: 0)
        condition.unlock()
    }

    /// No more tickets are taken; what is queued is still handed out. `crash`: tests, stop as
    /// a crash would (the writer aborts instead of checkpointing).
    func close(crash: Bool = false) {
        condition.lock()
        stopping = true
        if crash { crashing = true }
        condition.broadcast()
        condition.unlock()
    }

    var isCrashing: Bool {
        condition.lock()
        defer { condition.unlock() }
        return crashing
    }

    /// The next batch, waiting for work until `deadline` (by ``clock``) when given; `nil` once
    /// closed with nothing left, or at the deadline.
    func next(until deadline: UInt64? = nil) -> [Ticket]? {
        condition.lock()
        defer { condition.unlock() }
        while tickets.isEmpty && !stopping {
            if let deadline {
                if !clock.wait(condition, until: deadline) { break }
            } else {
                condition.wait()
            }
        }
        if tickets.isEmpty { return nil }
        if gatherNanoseconds > 0 && tickets.count < batchMax && !stopping {
            _ = clock.wait(condition, until: clock.nanoseconds() + gatherNanoseconds)
        }
        let batch = Array(tickets.prefix(batchMax))
        tickets.removeFirst(batch.count)
        telemetry?.batchOperations.record(batch.count)
        telemetry?.queueDepth.record(tickets.count)
        return batch
    }

    /// Answers every ticket still queued, and any that come, with `error` until closed.
    func refuseAll(_ error: HeadroomError) {
        while let batch = next() { for ticket in batch { ticket.deliver(.failure(error)) } }
    }
}
