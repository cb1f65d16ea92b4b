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

        Exit status: 0 when every line was answered (error lines included), 2 for bad options or
        rules, 3 when the store failed (the replay stops at that line).

        Examples:
          headroom replay --store /var/lib/headroom < payments.jsonl > decisions.jsonl
          headroom replay --store /var/lib/headroom --dry-run --rules proposed/ < yesterday.jsonl
        """
    )

    @Flag(help: "Evaluate on a scratch copy of the store; change nothing.") var dryRun = false

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
        let live = try storeOptions.openEngine(rules: nil)
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
        endProgress()
        let s = replayer.summary
        let ruleSet = dryRun && rules != nil ? "the rules in \(rules!)" : "rule set v\(engine.ruleSetVersion)"
        if dryRun { warn("dry run: nothing was changed in \(storeOptions.store)") }
        warn("replayed \(s.lines) lines: \(s.approved) approved, \(s.declined) declined, \(s.errors) errors, \(s.replayed) retries answered again (\(ruleSet))")
    }
}
