import CoreMetrics
import Dispatch
import Foundation
import HeadroomCore
import Logging
import Synchronization

/// What an engine reports to the bank's monitoring: swift-metrics handles, every one made once
/// when the engine opens (the hot path only increments and records through them: no lookup by
/// name, no allocation), and the engine's logger. Labels name outcomes, reason codes, tiers,
/// operations and error codes: never a card number, a card hash or a payment id.
///
/// The figures (docs/integration.md lists them with their units):
/// - `headroom_authorizations_total{outcome,code,tier}`: decisions answered (a retried id's
///   first answer again is not counted twice);
/// - `headroom_refusals_total{code}`: operations refused (an unknown id, overload, storage);
/// - `headroom_answer_duration{op}` (a timer): from the call to its durable answer;
/// - `headroom_batch_operations`: operations per group-commit batch;
/// - `headroom_queue_depth`: operations waiting when the writer took its last batch;
/// - `headroom_commit_duration`: a batch's LMDB commit and sync (group commit, not journal mode);
/// - `headroom_journal_sync_duration`: one journal append and sync (journal mode, write-behind);
/// - `headroom_checkpoint_duration`: one checkpoint of the store (journal mode);
/// - `headroom_apply_duration`: one apply of synced entries to the store (write-behind: the
///   writer goes on deciding meanwhile).
final class Telemetry: Sendable {
    let logger: Logger
    /// By reason code number (0 to 452): the counter of that decision.
    private let decisions: [Counter?]
    /// Challenges by reason code (only risk rules' codes challenge; tier `none`).
    private let challenges: [Counter?]
    private let refusals: [HeadroomError.Code: Counter]
    /// By ``EngineOperation/kind``.
    private let answerDurations: [CoreMetrics.Timer]
    let batchOperations: Recorder
    let queueDepth: Recorder
    let commitDuration: CoreMetrics.Timer
    let journalSyncDuration: CoreMetrics.Timer
    let checkpointDuration: CoreMetrics.Timer
    let applyDuration: CoreMetrics.Timer
    /// When an overload was last logged (uptime nanoseconds): at most one warning a second.
    private let overloadLogged = Mutex<UInt64>(0)

    init(factory given: (any MetricsFactory)?, logger: Logger) {
        let factory = given ?? MetricsSystem.factory
        self.logger = logger
        var decisions = [Counter?](repeating: nil, count: Int(ReasonCode.table.map(\.number).max()!) + 1)
        var challenges = decisions
        for (number, name) in ReasonCode.table {
            let code = ReasonCode(rawValue: number)!
            let tier = Tier(rawValue: UInt8(number / 100))?.name ?? "none"  // risk rules' codes (5xx) have no tier
            decisions[Int(number)] = Counter(label: "headroom_authorizations_total",
                                             dimensions: [("outcome", code == .approved ? "approve" : "decline"), ("code", name), ("tier", tier)],
                                             factory: factory)
            if number >= 500 {
                challenges[Int(number)] = Counter(label: "headroom_authorizations_total",
                                                  dimensions: [("outcome", "challenge"), ("code", name), ("tier", tier)], factory: factory)
            }
        }
        self.decisions = decisions
        self.challenges = challenges
        refusals = Dictionary(uniqueKeysWithValues: HeadroomError.Code.allCases.map {
            ($0, Counter(label: "headroom_refusals_total", dimensions: [("code", $0.rawValue)], factory: factory))
        })
        answerDurations = EngineOperation.kinds.map {
            CoreMetrics.Timer(label: "headroom_answer_duration", dimensions: [("op", $0)], factory: factory)
        }
        batchOperations = Recorder(label: "headroom_batch_operations", dimensions: [], aggregate: true, factory: factory)
        queueDepth = Recorder(label: "headroom_queue_depth", dimensions: [], aggregate: false, factory: factory)
        commitDuration = CoreMetrics.Timer(label: "headroom_commit_duration", dimensions: [], factory: factory)
        journalSyncDuration = CoreMetrics.Timer(label: "headroom_journal_sync_duration", dimensions: [], factory: factory)
        checkpointDuration = CoreMetrics.Timer(label: "headroom_checkpoint_duration", dimensions: [], factory: factory)
        applyDuration = CoreMetrics.Timer(label: "headroom_apply_duration", dimensions: [], factory: factory)
    }

    /// Uptime in nanoseconds, for durations.
    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Counts an answer and how long it took since `started` (``now()``); a refusal is counted
    /// by code, logged at trace level when it concerns one payment, as a warning when it
    /// concerns the store (overload at most once a second).
    func answered(_ operation: EngineOperation, _ result: Result<Answer, HeadroomError>, started: UInt64) {
        let finished = Self.now()
        answerDurations[operation.kind].recordNanoseconds(Int64(finished &- started))
        switch result {
        case .success(.authorized(let authorized)):
            if !authorized.replayed {
                let d = authorized.decision
                (d.outcome == .challenge ? challenges : decisions)[Int(d.code.rawValue)]?.increment()
            }
        case .success:
            break
        case .failure(let error):
            refusals[error.code]?.increment()
            refused(operation, error, at: finished)
        }
    }

    private func refused(_ operation: EngineOperation, _ error: HeadroomError, at now: UInt64) {
        switch error.code {
        case .overloaded:
            let due = overloadLogged.withLock { (last) -> Bool in
                guard now &- last >= 1_000_000_000 || last == 0 else { return false }
                last = now
                return true
            }
            if due { logger.warning("operations refused: overloaded", metadata: ["reason": "\(error.message)"]) }
        case .storage, .corrupted, .journalDamaged, .counterOverflow, .storeBusy:
            logger.error("operation refused", metadata: ["op": "\(EngineOperation.kinds[operation.kind])", "code": "\(error.code.rawValue)",
                                                         "reason": "\(error.message)"])
        default:
            logger.trace("operation refused", metadata: ["op": "\(EngineOperation.kinds[operation.kind])", "code": "\(error.code.rawValue)"])
        }
    }
}
