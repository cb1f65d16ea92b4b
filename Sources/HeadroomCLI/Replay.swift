import ArgumentParser
import Foundation
import Headroom
import HeadroomReplay

struct Replay: OperatorCommand {
    static let configuration = CommandConfiguration(
        abstract: "Drive the engine with payment events (JSON Lines on standard input); one JSON decision per line out.",
        discussion: """
        One JSON object per line on standard input (split here to fit the screen):
          {"op":"authorize","id":"T1","time":"2026-11-25T10:00:00+08:00",
           "card":"6222020200112233446","institution":"Z2007933000010",
           "business":"agreement","amount":"1234.56","account_class":"I"}
          {"op":"confirm","id":"T1"}
          {"op":"release","id":"T1"}
          {"op":"refund","id":"R1","original":"T1","amount":"100.00",
           "time":"2026-11-26T09:00:00+08:00"}

        Each answer line carries the id, op, outcome (approve, decline, error) and \
        code; a decline also its limit, tier and reason; and the headroom left per \
        tier. A malformed line gets an error line and the replay goes on. A summary \
        of every answered line goes to standard error, also when interrupted \
        (Ctrl-C, SIGTERM).

        A new store is created with the rules in --rules DIR (or Rules/ here). An \
        existing store keeps its rule set in force: --rules must then be that rule \
        set, and changes go through headroom rules propose.

        --dry-run evaluates the events on a private scratch copy of the store (its \
        counters as they are now), judged by --rules DIR if given, and removes the \
        copy on every exit: a backtest of a proposed rule set that never touches \
        the live counters.

        --callers N replays from N caller threads at once through group commit, as \
        a front processor with many connections does: operations share transactions \
        and syncs. Events of one payment (and its refunds) keep their input order on \
        one caller; answers leave as their commits become durable, in commit order. \
        --journal runs group commit in journal mode: each batch is made durable by \
        one write and sync of the store's journal, and LMDB is committed in large \
        checkpoints (docs/architecture.md); one process per store may journal. \
        --write-behind decides each batch from memory over a snapshot of the store, \
        makes it durable by one write and sync of the store's journal ring (journal.0 \
        and journal.1), and applies it to the store behind, on a thread of its own \
        (decision 0019); meanwhile other processes may read the store, not write it.

        Exit status: 0 when every line was answered (error lines included) and the \
        store holds every answer; 3 when the store failed, also after the last \
        answer (the final checkpoint); see headroom --help for the others.

        Examples:
          headroom replay --store /var/lib/headroom < payments.jsonl > answers.jsonl
          headroom replay --store /var/lib/headroom --dry-run --rules proposed \\
            < yesterday.jsonl
          headroom replay --store /var/lib/headroom --callers 16 < peak-hour.jsonl
          headroom replay --store /var/lib/headroom --callers 16 \\
            --metrics-file /var/lib/node_exporter/headroom.prom < peak-hour.jsonl
        """
    )

    @Flag(help: "Evaluate on a scratch copy of the store; change nothing.") var dryRun = false

    @Option(parsing: .unconditional, help: ArgumentHelp("Caller threads sharing commits through group commit (1: one commit per event, in order).", valueName: "n"))
    var callers = 1

    @Flag(help: "With --callers: group commit in journal mode (each batch made durable by one journal append and sync).")
    var journal = false

    @Flag(help: "With --callers: group commit in write-behind mode (decided from memory, made durable by the journal ring, applied to the store behind).")
    var writeBehind = false

    @Option(help: ArgumentHelp("With --write-behind: milliseconds of durable batches per apply to the store (default 1000).", valueName: "ms"))
    var applyMs: Int?

    @Option(help: ArgumentHelp("With --write-behind: bytes of each of the journal ring's two files (at least 4096; default 256 MiB).", valueName: "bytes"))
    var ringBytes: Int?

    @Option(name: .long, help: ArgumentHelp("Write the engine's figures to this file in Prometheus' text format (node_exporter's textfile collector), rewritten atomically every second and at the end.", valueName: "path"))
    var metricsFile: String?

    /// Write-behind's options: the defaults, with what was given.
    var writeBehindOptions: GroupCommitter.WriteBehindOptions {
        var options = GroupCommitter.WriteBehindOptions()
        if let applyMs { options.applyMilliseconds = applyMs }
        if let ringBytes { options.journalFileBytes = ringBytes }
        return options
    }

    func validate() throws {
        guard (1...1024).contains(callers) else { throw ValidationError("--callers must be from 1 to 1024, not \(callers)") }
        if journal && callers < 2 { throw ValidationError("--journal is a mode of group commit: give --callers 2 or more") }
        if journal && dryRun { throw ValidationError("--journal and --dry-run do not go together") }
        if writeBehind && callers < 2 { throw ValidationError("--write-behind is a mode of group commit: give --callers 2 or more") }
        if writeBehind && dryRun { throw ValidationError("--write-behind and --dry-run do not go together") }
        if writeBehind && journal { throw ValidationError("--journal and --write-behind are two modes: give one") }
        if !writeBehind && (applyMs != nil || ringBytes != nil) {
            throw ValidationError("--apply-ms and --ring-bytes set write-behind: give --write-behind too")
        }
        if let applyMs, !(1...60_000).contains(applyMs) { throw ValidationError("--apply-ms must be from 1 to 60000, not \(applyMs)") }
        if let ringBytes, !(4096...(1 << 40)).contains(ringBytes) {
            throw ValidationError("--ring-bytes must be from 4096 to 2^40, not \(ringBytes)")
        }
    }

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .long, help: ArgumentHelp("Rule files: a new store's first rule set; with --dry-run, the rules to judge by; for an existing store, its rule set in force.", valueName: "dir"))
    var rules: String?

    /// A consistent copy of the live store (or an empty directory for a store not made yet),
    /// private (mode 0700) and named for this process, so that a copy left by a killed run is
    /// recognised and removed by the next.
    func makeScratchCopy() throws -> String {
        Self.removeStaleScratchCopies()
        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(Self.scratchPrefix)\(getpid())-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        guard StoreOptions.storeHasRules(storeOptions.store) else { return scratch }
        do {
            try storeOptions.openReading().backup(to: scratch)
        } catch {
            try? FileManager.default.removeItem(atPath: scratch)
            throw error
        }
        return scratch
    }

    static let scratchPrefix = "headroom-dry-run-"

    /// Removes the scratch copies whose process is gone (killed: SIGKILL cannot be caught).
    static func removeStaleScratchCopies() {
        let temp = FileManager.default.temporaryDirectory.path
        for name in (try? FileManager.default.contentsOfDirectory(atPath: temp)) ?? [] where name.hasPrefix(scratchPrefix) {
            guard let pid = Int32(name.dropFirst(scratchPrefix.count).prefix { $0 != "-" }), pid != getpid(),
                  kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: temp + "/" + name)
            warn("removed \(temp)/\(name), a dry-run copy left by a process that was killed")
        }
    }

    func execute() throws {
        let stop = Interruption()
        defer { stop.cancel() }
        // The figures go out last, also when interrupted: after the summary and the close.
        let metrics = try metricsFile.map { (path) throws -> MetricsFile in
            do {
                return try MetricsFile(path: path)
            } catch {
                throw ValidationError("--metrics-file \(path): cannot write it: \(error)")
            }
        }
        if let metrics {
            stop.onStop { metrics.stop() }
            metrics.start()
        }
        defer { metrics?.stop() }
        var scratch: String?
        defer { if let scratch { try? FileManager.default.removeItem(atPath: scratch) } }
        var options = storeOptions
        // The engine's "now" is the latest event time read: a replayed day takes and expires
        // reservations as it did live, and the same input gives the same answers.
        let clock = ReplayClock()
        var engineOptions = Engine.Options(clock: { clock.now }, expiresOnOpening: false, metrics: metrics?.factory)
        var ruleFiles = rules
        if dryRun {
            let copy = try makeScratchCopy()
            scratch = copy
            stop.onStop { try? FileManager.default.removeItem(atPath: copy) }
            options.store = copy
            ruleFiles = rules ?? (StoreOptions.storeHasRules(copy) ? nil : "Rules")
            engineOptions.adoptRulesWithoutApproval = true
        }
        let summary = { (tally: ReplayTally, version: UInt32, note: String) in
            if dryRun { warn("dry run: nothing was changed in \(storeOptions.store)") }
            let ruleSet = dryRun && rules != nil ? "the rules in \(rules!)" : version == 0 ? "the store's rule set" : "rule set v\(version)"
            warn(Self.describe(tally.snapshot) + " (\(ruleSet)\(note))")
        }
        if callers > 1 {
            let committer = try options.openCommitter(rules: ruleFiles, creating: true, options: engineOptions,
                                                      commit: .init(journal: journal ? .init() : nil, writeBehind: writeBehind ? writeBehindOptions : nil))
            try runConcurrently(committer, clock, stop, summary)
        } else {
            let engine = try options.openEngine(rules: ruleFiles, creating: true, options: engineOptions)
            try runInOrder(engine, clock, stop, summary)
        }
    }

    /// One caller: each line answered in order, its commit durable before the next is read.
    func runInOrder(_ engine: Engine, _ clock: ReplayClock, _ stop: Interruption, _ summary: @escaping (ReplayTally, UInt32, String) -> Void) throws {
        var replayer = Replayer(engine: engine, operatorName: OperatorOption.account(), clock: clock)
        let tally = replayer.tally
        // Held while a line is decided and answered: an interruption lets it finish first.
        let inFlight = NSLock()
        stop.onStop {
            inFlight.lock()
            summary(tally, engine.ruleSetVersion, "; interrupted")
        }
        var number = 0
        var meter = ProgressMeter()
        var input = ReplayInput(clock: clock)
        while let line = input.next() {
            number += 1
            meter.tick("headroom: \(number) lines replayed")
            inFlight.lock()
            defer { inFlight.unlock() }
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
        endProgress()
        summary(tally, engine.ruleSetVersion, "")
    }

    /// Several callers through group commit (and its journal mode).
    func runConcurrently(_ committer: GroupCommitter, _ clock: ReplayClock, _ stop: Interruption,
                         _ summary: @escaping (ReplayTally, UInt32, String) -> Void) throws {
        let lock = NSLock()
        let replay = ConcurrentReplay(committer: committer, callers: callers, operatorName: OperatorOption.account(),
                                      clock: clock) { answer in
            lock.withLock { FileHandle.standardOutput.write(Data((answer + "\n").utf8)) }
        }
        // Interrupted: what was submitted is answered and checkpointed before the summary.
        stop.onStop {
            do {
                summary(replay.tally, try committer.close().ruleSetVersion, "; interrupted")
            } catch {
                warn("interrupted: the last checkpoint failed; the store's next opening applies the journal")
                summary(replay.tally, 0, "; interrupted")
            }
        }
        var number = 0
        var meter = ProgressMeter()
        do {
            var input = ReplayInput(clock: clock)
            while let line = input.next() {
                number += 1
                meter.tick("headroom: \(number) lines read")
                try replay.submit(line, number: number)
            }
            _ = try replay.finish()
        } catch {
            committer.shutdown()
            warn("stopped after a storage failure; \(number) lines were read")
            throw fail(error)
        }
        let engine: Engine
        do {
            // Anything that fails after the last answer (the final checkpoint, a sync) is a
            // failure of the run: what was answered is then in the journal, not yet the store.
            engine = try committer.close()
        } catch {
            warn("every line was answered, but the store was not brought up to date: the journal still holds the answers, and the store's next opening applies them")
            throw fail(error)
        }
        endProgress()
        summary(replay.tally, engine.ruleSetVersion, Self.commitNote(committer))
    }

    /// How many operations a commit (or a journal batch) held, and the checkpoints.
    static func commitNote(_ committer: GroupCommitter) -> String {
        let perBatch = Double(committer.operationsCommitted) / Double(max(1, committer.batches))
        let n = committer.checkpoints
        if committer.options.writeBehind != nil {
            // A batch is one entry of the ring; the store is written behind, by applies that
            // stop nobody.
            return String(format: "; %.1f operations per batch; %d appl%@ to the store behind, the longest %.1f ms", perBatch, n,
                          n == 1 ? "y" : "ies", Double(committer.checkpointMicrosecondsMax) / 1000)
        }
        guard committer.options.journal != nil else { return String(format: "; %.1f operations per commit", perBatch) }
        // Journal mode: a batch is one journal entry; the store is written at checkpoints, each
        // of which the writer waits through.
        return String(format: "; %.1f operations per batch; %d checkpoint%@, the longest %.1f ms", perBatch, n,
                      n == 1 ? "" : "s", Double(committer.checkpointMicrosecondsMax) / 1000)
    }

    /// `replayed 11 lines: 4 approved, 2 declined, 2 confirmed, ...`: every answered line in
    /// one count.
    static func describe(_ s: Replayer.Summary) -> String {
        "replayed \(s.lines) lines: \(s.approved) approved, \(s.declined) declined, \(s.confirmed) confirmed, \(s.released) released, "
            + "\(s.refunded) refunded, " + (s.challenged > 0 ? "\(s.challenged) challenged, " : "")
            + (s.verified > 0 ? "\(s.verified) verified, " : "")
            + (s.agreementChanges > 0 ? "\(s.agreementChanges) agreements signed or ended, " : "")
            + (s.cardLimitChanges > 0 ? "\(s.cardLimitChanges) card-limit changes, " : "")
            + (s.reconciled > 0 ? "\(s.reconciled) reconciled, " : "")
            + "\(s.errors) errors; \(s.replayed) retries answered again"
    }
}

/// Standard input's lines, with the replay's clock set before the first is answered: when the
/// input starts with lines that state no time (a confirm, a card-limit change), it reads ahead
/// to the first that does (at most 10,000 lines), so that those lines are judged at that time,
/// not at the wall clock (which would expire every reservation of a day long past).
struct ReplayInput {
    let clock: ReplayClock
    private var ahead: [String] = []
    private var primed = false

    init(clock: ReplayClock) {
        self.clock = clock
    }

    mutating func next() -> String? {
        if !primed {
            primed = true
            while ahead.count < 10_000, let line = readLine(strippingNewline: true) {
                ahead.append(line)
                if let decoded = try? OperationDecoder.decodeLine(line), let time = decoded.time {
                    clock.advance(to: time)
                    break
                }
            }
            ahead.reverse()
        }
        if let line = ahead.popLast() { return line }
        return readLine(strippingNewline: true)
    }
}
