import ArgumentParser
import Foundation
import Headroom

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Drive the engine with payment events (JSON Lines on standard input); one JSON decision per line out.",
        discussion: """
        Input lines:
          {"op":"authorize","id":"T1","time":"2026-11-25T10:00:00+08:00","card":"6222020200112233446",
           "institution":"Z2007933000010","business":"agreement","amount":"1234.56","account_class":"I"}
          {"op":"confirm","id":"T1"}   {"op":"release","id":"T1"}
          {"op":"refund","id":"R1","original":"T1","amount":"100.00","time":"2026-11-26T09:00:00+08:00"}
        Output lines carry id, op, outcome (approve, decline, error), code, and for a decline limit,
        tier and reason, plus the headroom left per tier. A malformed line gets an error line and
        the replay goes on. A summary goes to standard error.

        --dry-run evaluates the events on a scratch copy of the store (its counters as they are \
        now), with --rules DIR as the rule set if given, and throws the copy away: a backtest of a \
        proposed rule set that never touches the live counters.

        --callers N replays from N caller threads at once through group commit, as a front \
        processor with many connections does: operations share transactions and syncs. Events of \
        one payment (and its refunds) keep their input order on one caller; answers leave as \
        their commits become durable, in commit order, each with its id and op. Standard error \
        then also says how many operations each commit held. --journal runs group commit in \
        journal mode: each batch is made durable by one write and sync of the store's journal, \
        and LMDB is committed in large checkpoints (docs/architecture.md); one process per store \
        may journal, and other processes' writes wait for its checkpoints.

        Exit status: 0 when every line was answered (error lines included), 2 for bad options or
        rules, 3 when the store failed (the replay stops at that line).

        Examples:
          headroom replay --store /var/lib/headroom < payments.jsonl > decisions.jsonl
          headroom replay --store /var/lib/headroom --dry-run --rules proposed/ < yesterday.jsonl
          headroom replay --store /var/lib/headroom --callers 16 < peak-hour.jsonl
        """
    )

    @Flag(help: "Evaluate on a scratch copy of the store; change nothing.") var dryRun = false

    @Option(help: ArgumentHelp("Caller threads sharing commits through group commit (1: one commit per event, in order).", valueName: "n"))
    var callers = 1

    @Flag(help: "With --callers: group commit in journal mode (each batch made durable by one journal append and sync).")
    var journal = false

    func validate() throws {
        guard (1...1024).contains(callers) else { throw ValidationError("--callers must be from 1 to 1024, not \(callers)") }
        if journal && callers < 2 { throw ValidationError("--journal is a mode of group commit: give --callers 2 or more") }
        if journal && dryRun { throw ValidationError("--journal and --dry-run do not go together") }
    }

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .long, help: ArgumentHelp("Rule files to put in force (a new version when they differ).", valueName: "dir"))
    var rules: String?

    /// A consistent copy of the live store (or an empty directory for a store not made yet).
    func makeScratchCopy() throws -> String {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("headroom-dry-run-\(UUID().uuidString)").path
        guard StoreOptions.storeHasRules(storeOptions.store) else {
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            return scratch
        }
        let live = try storeOptions.openReading()
        try live.backup(to: scratch)
        return scratch
    }

    func run() throws {
        let engine: Engine
        var scratch: String?
        do {
            if dryRun {
                scratch = try makeScratchCopy()
                var copy = storeOptions
                copy.store = scratch!
                engine = try copy.openEngine(rules: rules ?? (StoreOptions.storeHasRules(scratch!) ? nil : "Rules"),
                                             options: .init(adoptRulesWithoutApproval: true))
            } else {
                engine = try storeOptions.openEngine(rules: rules)
            }
        } catch {
            throw fail(error)
        }
        defer { if let scratch { try? FileManager.default.removeItem(atPath: scratch) } }
        let s: Replayer.Summary
        var perCommit = ""
        if callers > 1 {
            let committer: GroupCommitter
            do {
                committer = try GroupCommitter(engine: engine, options: .init(journal: journal ? .init() : nil))
            } catch {
                throw fail(error)
            }
            let lock = NSLock()
            let replay = ConcurrentReplay(committer: committer, callers: callers) { answer in
                lock.withLock { FileHandle.standardOutput.write(Data((answer + "\n").utf8)) }
            }
            var number = 0
            var meter = ProgressMeter()
            do {
                while let line = readLine(strippingNewline: true) {
                    number += 1
                    meter.tick("headroom: \(number) lines read")
                    try replay.submit(line, number: number)
                }
                s = try replay.finish()
            } catch {
                committer.shutdown()
                warn("stopped after a storage failure; \(number) lines were read")
                throw fail(error)
            }
            do {
                // Anything that fails after the last answer (the final checkpoint, a sync) is a
                // failure of the run: what was answered is then in the journal, not yet the store.
                try committer.close()
            } catch {
                warn("every line was answered, but the store was not brought up to date: the journal still holds the answers, and the store's next opening applies them")
                throw fail(error)
            }
            let perBatch = Double(committer.operationsCommitted) / Double(max(1, committer.batches))
            if committer.options.journal == nil {
                perCommit = String(format: "; %.1f operations per commit", perBatch)
            } else {
                // Journal mode: a batch is one journal entry; the store is written at checkpoints,
                // each of which the writer waits through.
                let n = committer.checkpoints
                perCommit = String(format: "; %.1f operations per batch; %d checkpoint%@, the longest %.1f ms", perBatch, n,
                                   n == 1 ? "" : "s", Double(committer.checkpointMicrosecondsMax) / 1000)
            }
        } else {
            var replayer = Replayer(engine: engine)
            var number = 0
            var meter = ProgressMeter()
            while let line = readLine(strippingNewline: true) {
                number += 1
                meter.tick("headroom: \(number) lines replayed")
                do {
                    // Written unbuffered: each answer leaves as soon as its commit is durable,
                    // also into a pipe, and nothing answered waits in a buffer at a crash.
                    if let answer = try replayer.handle(line, number: number) {
                        FileHandle.standardOutput.write(Data((answer + "\n").utf8))
                    }
                } catch {
                    warn("stopped at line \(number)")
                    throw fail(error)
                }
            }
            s = replayer.summary
        }
        endProgress()
        let ruleSet = dryRun && rules != nil ? "the rules in \(rules!)" : "rule set v\(engine.ruleSetVersion)"
        if dryRun { warn("dry run: nothing was changed in \(storeOptions.store)") }
        warn("replayed \(s.lines) lines: \(s.approved) approved, \(s.declined) declined, \(s.errors) errors, \(s.replayed) retries answered again (\(ruleSet)\(perCommit))")
    }
}
