import Foundation
import Headroom

/// Replays events from several caller threads at once through a ``GroupCommitter``, as a front
/// processor does with its many NetsUnion connections: the callers' operations share
/// transactions and syncs.
///
/// Events of one payment (its authorization and retries, its confirm or release, and its
/// refunds) go to one caller, in input order, so each payment's life keeps its order; payments
/// on different callers interleave as the committer takes them. Each answer leaves (through
/// `answer`, from the caller's thread) as soon as the commit holding it is durable, so answers
/// come in commit order, not input order; each carries its id and op. A storage failure stops
/// the replay: ``submit(_:number:)`` and ``finish()`` then throw it.
public final class ConcurrentReplay: @unchecked Sendable {
    // @unchecked: `queues`, `closed` and `failure` are guarded by `condition`; each caller
    // thread alone touches its `Replayer`; `tally` guards itself.

    private let condition = NSCondition()
    private var queues: [[(event: Result<EngineOperation, EventError>, number: Int)]]
    private var closed = false
    private var failure: HeadroomError?
    /// The counts of every caller together.
    public let tally = ReplayTally()
    private let depth: Int
    /// Who changes card limits in card-limit lines (see ``Replayer/operatorName``).
    private let operatorName: String?
    /// Advanced by each line read (see ``ReplayClock``).
    private let clock: ReplayClock?
    private let done = DispatchGroup()

    /// Starts `callers` threads that answer through `committer`; each holds at most
    /// `queueDepth` events waiting, beyond which ``submit(_:number:)`` waits.
    public init(committer: GroupCommitter, callers: Int, queueDepth: Int = 256, operatorName: String? = nil,
                clock: ReplayClock? = nil, answer: @escaping @Sendable (String) -> Void) {
        self.operatorName = operatorName
        self.clock = clock
        precondition(callers >= 1 && queueDepth >= 1)
        queues = Array(repeating: [], count: callers)
        depth = queueDepth
        for caller in 0..<callers {
            done.enter()
            let thread = Thread { [self] in
                run(caller, Replayer(engine: committer, tally: tally), answer)
                done.leave()
            }
            thread.name = "headroom.replay-caller-\(caller)"
            thread.start()
        }
    }

    /// Decodes one input line (1-based `number`; a blank one is skipped) and hands it to the
    /// caller that owns its payment; waits while that caller is `queueDepth` events behind.
    /// - Throws: the storage failure that stopped the replay.
    public func submit(_ line: String, number: Int) throws(HeadroomError) {
        guard let decoded = Replayer.decode(line, operatorName: operatorName, clock: clock) else { return }  // a blank line: no answer
        let caller = Self.caller(of: decoded, number: number, callers: queues.count)
        condition.lock()
        defer { condition.unlock() }
        while queues[caller].count >= depth && failure == nil { condition.wait() }
        if let failure { throw failure }
        queues[caller].append((decoded, number))
        condition.broadcast()
    }

    /// Waits until every submitted line is answered and the callers have stopped.
    /// - Returns: the replay's counts, over all callers.
    /// - Throws: the storage failure that stopped the replay.
    public func finish() throws(HeadroomError) -> Replayer.Summary {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
        done.wait()
        if let failure { throw failure }
        return tally.snapshot
    }

    /// The caller of a line: by the payment it concerns (a refund by its original), so that a
    /// payment's events keep their order; a line that does not decode, by its number.
    static func caller(of decoded: Result<EngineOperation, EventError>, number: Int, callers: Int) -> Int {
        switch decoded {
        case .success(.refund(let r)): caller(of: r.original.text, callers: callers)
        case .success(let operation): caller(of: operation.id?.text ?? "", callers: callers)
        case .failure: caller(of: "\(number)", callers: callers)
        }
    }

    /// Which of `callers` takes what concerns `key` (a payment id): always the same one, so
    /// that one payment's operations keep their order (`headroom reconcile` shares it out alike).
    public static func caller(of key: String, callers: Int) -> Int {
        var h = FNV1a()
        h.add(key)
        return Int(h.value % UInt64(callers))
    }

    private func run(_ caller: Int, _ replayer: Replayer, _ answer: (String) -> Void) {
        var replayer = replayer
        while let (event, number) = next(caller) {
            do {
                answer(try replayer.handle(event, number: number))
            } catch {
                condition.lock()
                if failure == nil { failure = error }
                condition.broadcast()
                condition.unlock()
                break
            }
        }
    }

    /// The caller's next line; `nil` once closed and drained, or after a failure.
    private func next(_ caller: Int) -> (Result<EngineOperation, EventError>, Int)? {
        condition.lock()
        defer { condition.unlock() }
        while queues[caller].isEmpty && !closed && failure == nil { condition.wait() }
        guard failure == nil, !queues[caller].isEmpty else { return nil }
        condition.broadcast()  // a submitter may be waiting for room
        return queues[caller].removeFirst()
    }
}
