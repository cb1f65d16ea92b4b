import Foundation
import Synchronization
import Headroom

/// Drives an engine with JSON Lines operations and answers one JSON line for each, in order. A
/// malformed line, or one the engine refuses, gets an `error` line and the replay goes on; a
/// storage failure stops it (nothing after it could be trusted).
public struct Replayer {
    /// What a replay answered, by kind: every answered line is counted once, in one of
    /// approved, declined, challenged, confirmed, released, refunded, card-limit changes, reconciled or
    /// errors; `replayed` counts the retries among them that got their first answer again.
    public struct Summary: Sendable, Equatable {
        public var lines = 0
        public var approved = 0
        public var declined = 0
        public var confirmed = 0
        public var released = 0
        public var refunded = 0
        public var errors = 0
        public var replayed = 0
        /// Card limits set or cleared.
        public var cardLimitChanges = 0
        /// Authorizations answered `challenge` (step-up).
        public var challenged = 0
        /// Reconciliation lines applied (including those that changed nothing).
        public var reconciled = 0
        /// Challenged payments verified.
        public var verified = 0
        /// Agreements signed or ended.
        public var agreementChanges = 0
    }

    /// An engine, or a group committer in front of one.
    public let engine: any PaymentLifecycle
    /// The counts so far, shared with whoever reports them (several callers, an interruption).
    public let tally: ReplayTally
    public var summary: Summary { tally.snapshot }

    /// Who changes card limits in card-limit lines (the account running the replay); such
    /// lines are refused without one.
    public let operatorName: String?

    /// The engine's clock, when it follows the replayed day: each line read advances it.
    public let clock: ReplayClock?

    public init(engine: any PaymentLifecycle, tally: ReplayTally = ReplayTally(), operatorName: String? = nil,
                clock: ReplayClock? = nil) {
        self.engine = engine
        self.tally = tally
        self.operatorName = operatorName
        self.clock = clock
    }

    /// Handles one input line (1-based `number`); `nil` for a blank line.
    /// - Throws: ``HeadroomError`` with `storage`, `corrupted` or `storeBusy`, after which nothing
    ///   more should be replayed.
    public mutating func handle(_ line: String, number: Int) throws(HeadroomError) -> String? {
        guard let decoded = Self.decode(line, operatorName: operatorName, clock: clock) else { return nil }
        return try handle(decoded, number: number)
    }

    /// A line decoded; `nil` for a blank line. The time it states advances `clock`.
    public static func decode(_ line: String, operatorName: String? = nil, clock: ReplayClock? = nil) -> Result<EngineOperation, EventError>? {
        if line.allSatisfy(\.isWhitespace) { return nil }
        do {
            let decoded = try OperationDecoder.decodeLine(line, operatorName: operatorName)
            if let time = decoded.time { clock?.advance(to: time) }
            return .success(decoded.operation)
        } catch {
            return .failure(error)
        }
    }

    /// ``handle(_:number:)`` for a line already decoded (with ``decode(_:)``).
    public mutating func handle(_ decoded: Result<EngineOperation, EventError>, number: Int) throws(HeadroomError) -> String {
        let operation: EngineOperation
        switch decoded {
        case .success(let decodedOperation):
            operation = decodedOperation
        case .failure(let error):
            tally.count { $0.lines += 1; $0.errors += 1 }
            return ResultEncoder.error(line: number, id: error.id, op: error.op, code: HeadroomError.Code.invalidInput.rawValue,
                                       field: error.field, message: error.message)
        }
        do {
            return try apply(operation)
        } catch where error.code == .storage || error.code == .corrupted || error.code == .storeBusy {
            throw error
        } catch {
            tally.count { $0.lines += 1; $0.errors += 1 }
            return ResultEncoder.error(line: number, id: operation.id?.text, op: operation.name, code: error.code.rawValue,
                                       field: nil, message: error.message)
        }
    }

    mutating func apply(_ operation: EngineOperation) throws(HeadroomError) -> String {
        let answer = try engine.perform(operation)
        tally.count { $0.add(answer) }
        return ResultEncoder.answer(operation, answer)
    }
}

extension Replayer.Summary {
    /// Counts one answered line.
    mutating func add(_ answer: Answer) {
        lines += 1
        switch answer {
        case .authorized(let result):
            if result.replayed { replayed += 1 }
            switch result.decision.outcome {
            case .approve: approved += 1
            case .decline: declined += 1
            case .challenge: challenged += 1
            }
        case .confirmed: confirmed += 1
        case .released: released += 1
        case .refunded(let result):
            refunded += 1
            if result.replayed { replayed += 1 }
        case .cardLimitsSet, .cardLimitsCleared: cardLimitChanges += 1
        case .reconciled: reconciled += 1
        case .verified: verified += 1
        case .agreementSigned, .agreementEnded: agreementChanges += 1
        }
    }
}

/// A replay's counts, updated as lines are answered and read at any moment from any thread
/// (a summary when the replay is interrupted).
public final class ReplayTally: @unchecked Sendable {
    // @unchecked: `counts` is guarded by `lock`.
    private let lock = NSLock()
    private var counts = Replayer.Summary()

    public init() {}

    func count(_ change: (inout Replayer.Summary) -> Void) {
        lock.lock()
        change(&counts)
        lock.unlock()
    }

    public var snapshot: Replayer.Summary {
        lock.lock()
        defer { lock.unlock() }
        return counts
    }
}

/// A replay's "now": the latest event time read so far (the wall clock before the first), so
/// that a replayed day takes and expires reservations as it did live, and the same input
/// always gives the same answers. Give ``now`` to ``Engine/Options/clock``.
public final class ReplayClock: Sendable {
    private let latest = Mutex<Int64?>(nil)

    public init() {}

    /// Moves the clock to `time` when it is later than what was read before (lines out of
    /// order never move it back).
    public func advance(to time: Timestamp) {
        latest.withLock { $0 = max($0 ?? time.unixSeconds, time.unixSeconds) }
    }

    /// Unix seconds: the latest time read, or the system's clock before any.
    public var now: Int64 {
        latest.withLock { $0 } ?? Engine.systemClock()
    }
}
