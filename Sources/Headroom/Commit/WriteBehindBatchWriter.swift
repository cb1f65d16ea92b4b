import Foundation
import HeadroomCore

/// Write-behind (decision 0019): the writer decides each batch from an ``Overlay`` over a read
/// snapshot of LMDB, taken anew for every batch; the ``JournalSyncer`` makes the batch durable
/// with one append and sync to the ``JournalRing`` and answers its callers; the ``Applier``
/// applies the synced entries to LMDB in its own write transactions, behind. LMDB is never
/// written on the decision path, and nothing stops the writer while LMDB commits.
///
/// Bounded: when the overlay nears its bound the writer waits for the apply (pruning what LMDB
/// now holds), and when the ring has no file to turn to the syncer waits; the queue fills
/// meanwhile, and callers are answered `overloaded`.
final class WriteBehindBatchWriter: BatchWriter, @unchecked Sendable {
    // @unchecked: `run` is the writer thread's; `stop` runs after it has ended.
    private let engine: Engine
    private let ring: JournalRing
    private let overlay: Overlay
    let applier: Applier
    private let syncer: JournalSyncer

    /// Entries LMDB now holds, whose keys are still to be pruned from the overlay, and the lsn
    /// LMDB holds up to.
    private var toPrune: [[UInt8]] = []
    private var pruned = 0
    private var prunableThrough: UInt64 = 0

    /// Takes the store (``Engine/startWriteBehind(fileBytes:)``) and starts the apply thread
    /// and the syncer.
    /// - Throws: `storeBusy` when another committer journals the store, `storage` when the
    ///   overlay cannot be mapped or the ring cannot be written.
    init(_ engine: Engine, _ options: GroupCommitter.WriteBehindOptions) throws(HeadroomError) {
        let overlay = try Overlay(bytesMax: options.overlayBytesMax)
        let ring = try engine.startWriteBehind(fileBytes: options.journalFileBytes)
        let applied: UInt64
        do {
            applied = try engine.journalLSN()
        } catch {
            try? engine.stopJournaling(failure: nil, clean: false)
            throw error
        }
        let applier = Applier(engine, options, appliedThrough: applied)
        ring.waitApplied = { [applier] lsn in applier.waitApplied(lsn) }
        self.engine = engine
        self.ring = ring
        self.overlay = overlay
        self.applier = applier
        prunableThrough = applied
        syncer = JournalSyncer(ring, telemetry: engine.telemetry, synced: { [applier] entries in applier.add(entries) })
    }

    func run(_ queue: BatchQueue, _ tally: CommitTally) {
        var lsn = prunableThrough
        while let batch = queue.next() {
            if let failure = syncer.failure ?? applier.failure {
                for ticket in batch { ticket.deliver(.failure(failure)) }
                continue
            }
            prune(budget: 16_384)
            if let refusal = waitForRoom(batch.count) {
                for ticket in batch { ticket.deliver(.failure(refusal)) }
                continue
            }
            switch write(batch, lsn: lsn + 1) {
            case .written(let entry):
                lsn += 1
                syncer.submit(.entry(entry, batch))
                tally.batch(batch.count)
            case .rerun:
                queue.putBack(batch)
            case .failed(let error):
                for ticket in batch { ticket.deliver(.failure(error)) }
            }
        }
        syncer.shutdown()
        applier.finish(crashing: queue.isCrashing)
        tally.checkpoints = applier.applies
        tally.checkpointMicrosecondsTotal = applier.microsecondsTotal
        tally.checkpointMicrosecondsMax = applier.microsecondsMax
    }

    /// Lets another committer take the store; a clean stop (everything applied) also forgets
    /// the ring.
    func stop(clean: Bool) throws(HeadroomError) {
        try engine.stopJournaling(failure: syncer.failure ?? applier.failure, clean: clean, forgetting: .journalRing)
    }

    private enum Written {
        case written(JournalSyncer.Entry)
        /// An operation was refused after it began writing: the batch's overlay writes were
        /// undone, and it runs again without it.
        case rerun
        case failed(HeadroomError)
    }

    /// Runs the batch on the overlay over a new snapshot, its writes captured as entry `lsn`.
    private func write(_ batch: [Ticket], lsn: UInt64) -> Written {
        overlay.beginBatch(lsn)
        let log = engine.writeLog
        log.effects.bytes.removeAll(keepingCapacity: true)
        applier.gate.lock()
        defer { applier.gate.unlock() }
        do throws(HeadroomError) {
            let txn = try engine.store.beginOverlaid(overlay)
            log.capturing = true
            defer { log.capturing = false }
            try engine.begin(txn)  // its expiries are journaled with the batch
            guard let answers = try engine.runBatch(batch, in: txn) else {
                try overlay.rollback()
                return .rerun
            }
            return .written(.init(bytes: JournalFile.encode(lsn: lsn, salt: ring.files[0].salt, payload: log.effects.bytes),
                                  answers: answers, lsn: lsn))
        } catch {
            do throws(HeadroomError) {
                try overlay.rollback()
            } catch {
                // The overlay no longer says what the journal holds: stop deciding.
                syncer.fail(error)
            }
            return .failed(error)
        }
    }

    /// Waits until the overlay has room for `operations` more, pruning what LMDB has taken up
    /// and hurrying the apply; answers the failure that stopped write-behind meanwhile, if any.
    private func waitForRoom(_ operations: Int) -> HeadroomError? {
        while !overlay.hasRoom(forOperations: operations) {
            if let failure = syncer.failure ?? applier.failure { return failure }
            if !prune(budget: .max) {
                applier.hurry()
                applier.waitForApply(milliseconds: 10)
            }
        }
        return nil
    }

    /// Drops from the overlay the keys of entries LMDB now holds, at most about `budget` items
    /// of them (whole entries): the prune is spread over batches. Answers whether there was
    /// anything to prune.
    @discardableResult
    private func prune(budget: Int) -> Bool {
        if pruned == toPrune.count, let (through, entries) = applier.takeApplied() {
            toPrune = entries
            pruned = 0
            prunableThrough = through
        }
        guard pruned < toPrune.count else { return false }
        var items = 0
        while pruned < toPrune.count && items < budget {
            toPrune[pruned].withUnsafeBytes { entry in
                let payload = UnsafeRawBufferPointer(rebasing: entry[JournalFile.headerBytes...])
                try? EffectLog.forEach(payload) { (item) throws(HeadroomError) in
                    items += 1
                    switch item {
                    case .put(let table, let key, _), .delete(let table, let key):
                        overlay.prune(table, key: key, appliedThrough: prunableThrough)
                    }
                }
            }
            pruned += 1
        }
        if pruned == toPrune.count {
            toPrune.removeAll(keepingCapacity: true)
            pruned = 0
        }
        return true
    }
}

/// Write-behind's third thread: applies the entries the syncer has made durable to LMDB, in
/// order, in write transactions of its own, each gathering `applyMilliseconds` of entries
/// (or `applyOperations` operations) and recording the last entry's lsn (meta `journal-lsn`)
/// and its time (meta `journal-applied-at`) with them; then hands the applied entries to the
/// writer, to prune from the overlay.
final class Applier: @unchecked Sendable {
    // @unchecked: the fields below `condition` are guarded by it; the tallies are read after
    // `finish`.

    /// Held by the writer while it reads LMDB; taken by the apply to grow a full map (LMDB
    /// remaps it, which no read of this process may straddle).
    let gate = NSLock()
    private let engine: Engine
    private let options: GroupCommitter.WriteBehindOptions
    private let condition = NSCondition()
    private var pending: [JournalSyncer.Entry] = []
    private var pendingOperations = 0
    private var applied: UInt64
    private var appliedEntries: [[UInt8]] = []
    private var hurrying = false
    private var finishing = false
    private var crashing = false
    private var failed: HeadroomError?
    private let finished = DispatchSemaphore(value: 0)

    /// How many applies committed, their time in all and at most (microseconds).
    private(set) var applies = 0
    private(set) var microsecondsTotal = 0
    private(set) var microsecondsMax = 0

    init(_ engine: Engine, _ options: GroupCommitter.WriteBehindOptions, appliedThrough: UInt64) {
        self.engine = engine
        self.options = options
        applied = appliedThrough
        startNamedThread("headroom-apply") { [unowned self] in self.run() }
    }

    var failure: HeadroomError? {
        condition.lock()
        defer { condition.unlock() }
        return failed
    }

    /// Entries on disk and answered, to apply.
    func add(_ entries: [JournalSyncer.Entry]) {
        condition.lock()
        pending += entries
        for entry in entries { pendingOperations += entry.answers.count }
        condition.broadcast()
        condition.unlock()
    }

    /// Applies what is waiting now, without gathering more.
    func hurry() {
        condition.lock()
        hurrying = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until LMDB holds every entry through `lsn`; `false` when applying stopped first.
    func waitApplied(_ lsn: UInt64) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while applied < lsn && failed == nil && !crashing {
            hurrying = true
            condition.broadcast()
            condition.wait()
        }
        return applied >= lsn
    }

    /// Waits for the next apply to end, for at most `milliseconds`.
    func waitForApply(milliseconds: Int) {
        condition.lock()
        _ = condition.wait(until: Date(timeIntervalSinceNow: Double(milliseconds) / 1000))
        condition.unlock()
    }

    /// The entries applied since last asked and the lsn LMDB holds up to; `nil` when none.
    func takeApplied() -> (UInt64, [[UInt8]])? {
        condition.lock()
        defer { condition.unlock() }
        guard !appliedEntries.isEmpty else { return nil }
        let taken = appliedEntries
        appliedEntries = []
        return (applied, taken)
    }

    /// Applies everything given (unless `crashing`: tests, it stops as a crash would, leaving
    /// the rest in the ring) and stops the thread.
    func finish(crashing: Bool) {
        condition.lock()
        finishing = true
        self.crashing = crashing
        condition.broadcast()
        condition.unlock()
        finished.wait()
    }

    private func fail(_ error: HeadroomError) {
        condition.lock()
        if failed == nil { failed = error }
        condition.broadcast()
        condition.unlock()
    }

    private func run() {
        while let taken = gather() {
            apply(taken)
        }
        finished.signal()
    }

    /// The next entries to apply: those waiting once `applyMilliseconds` have passed since the
    /// first came, or `applyOperations` are waiting, or the apply is hurried or finishing;
    /// `nil` when finished (or failed, or crashing).
    private func gather() -> [JournalSyncer.Entry]? {
        condition.lock()
        defer { condition.unlock() }
        while pending.isEmpty && !finishing && failed == nil { condition.wait() }
        guard !pending.isEmpty && !crashing && failed == nil else { return nil }
        let deadline = Date(timeIntervalSinceNow: Double(options.applyMilliseconds) / 1000)
        while !hurrying && !finishing && pendingOperations < options.applyOperations && failed == nil {
            if !condition.wait(until: deadline) { break }
        }
        guard !crashing && failed == nil else { return nil }
        let taken = pending
        pending = []
        pendingOperations = 0
        hurrying = false
        return taken
    }

    /// Applies the entries in one write transaction, with their last lsn and the time, and
    /// makes it durable; a full map is grown (between two of the writer's batches) and the
    /// transaction run again.
    private func apply(_ taken: [JournalSyncer.Entry]) {
        guard let last = taken.last?.lsn else { return }
        let began = Telemetry.now()
        let store = engine.store
        do throws(HeadroomError) {
            while true {
                do throws(HeadroomError) {
                    let txn = try store.beginApplying()
                    for entry in taken {
                        try withBytes(entry.bytes) { (raw) throws(HeadroomError) in
                            try txn.apply(UnsafeRawBufferPointer(rebasing: raw[JournalFile.headerBytes...]))
                        }
                    }
                    try store.putMetaInteger(txn, .journalLSN, Int64(last))
                    try store.putMetaInteger(txn, .journalAppliedAt, Int64(Date().timeIntervalSince1970 * 1000))
                    try txn.commit()
                    break
                } catch where error.isMapFull {
                    gate.lock()
                    defer { gate.unlock() }
                    try engine.growMap()
                }
            }
            if !store.environment.options.syncOnCommit { try engine.syncStore() }
        } catch {
            engine.logger.error("write-behind could not apply to the store: it stops answering; the journal ring keeps what was answered",
                                metadata: ["error": "\(error)"])
            fail(error)
            return
        }
        let took = Int((Telemetry.now() &- began) / 1000)
        engine.telemetry.applyDuration.recordMicroseconds(took)
        applies += 1
        microsecondsTotal += took
        microsecondsMax = max(microsecondsMax, took)
        condition.lock()
        applied = last
        appliedEntries += taken.map(\.bytes)
        condition.broadcast()
        condition.unlock()
    }
}
