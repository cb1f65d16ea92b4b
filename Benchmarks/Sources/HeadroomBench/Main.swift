import ArgumentParser
import Foundation
import Headroom

@main
struct HeadroomBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "headroom-bench",
        abstract: "Headroom's benchmark suite: the engine against raw LMDB, SQLite and Redis on one workload.",
        subcommands: [Suite.self, Probe.self, Allocations.self, Rerender.self],
        defaultSubcommand: Suite.self
    )
}

struct Suite: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "suite", abstract: "Run the standard suite and write the report.")

    @Flag(help: "A smoke run that finishes in under a minute (small workload; figures are not comparable).") var quick = false
    @Flag(help: "Add 10,000,000 cards to the scaling runs.") var full = false
    @Option(help: "Where the report goes (benchmarks.md, benchmarks/*.svg, benchmarks/results.json).") var out = "docs"
    @Option(help: "The built peer programs (lmdb_raw, sqlite_peer, redis_peer, malloc_count.so).") var peers = ".build-bench/peers"
    @Option(help: "A scratch directory for stores.") var scratch = NSTemporaryDirectory() + "headroom-bench"
    @Option(help: "The command line that ran this suite, for the report.") var command = "scripts/bench"

    func run() throws {
        try? FileManager.default.removeItem(atPath: scratch)
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var spec = WorkloadSpec()
        spec.payments = quick ? 2_000 : 20_000
        spec.cards = quick ? 100_000 : 1_000_000
        let workload = Workload.generate(spec)
        let workloadFile = scratch + "/workload.bin"
        try workload.write(to: workloadFile)
        var results = Results(machine: Machine.describe(), workload: spec, ops: workload.ops.count,
                              authorizations: workload.authorizations, quick: quick, command: command)
        say("workload: \(spec.description): \(workload.ops.count) operations")

        // Closed loop: the engine, durable and without sync, 1, 2 and 8 caller threads.
        for (setting, durable) in [("durable", true), ("no sync", false)] {
            for threads in [1, 2, 8] {
                let harness = try EngineHarness(workload: workload, store: try store("closed"), durable: durable)
                let r = try EngineRunner.closedLoop(harness, threads: threads, setting: setting)
                say("headroom \(setting) \(threads) threads: \(Int(r.authorizationsPerSecond)) authorizations/s, correct \(r.correct)")
                results.closedLoop.append(r)
            }
        }
        // Group commit: callers' operations share transactions and syncs; in journal mode, journal syncs.
        let modes: [(String, Bool, GroupCommitter.Options)] = [
            ("durable, group commit", true, .init()), ("durable, journal", true, .init(journal: .init())),
            ("no sync, group commit", false, .init()),
        ]
        for (setting, durable, options) in modes {
            for threads in [1, 2, 8, 64] {
                let harness = try EngineHarness(workload: workload, store: try store("group"), durable: durable)
                let r = try EngineRunner.closedLoop(harness, threads: threads, setting: setting, committer: options)
                say("headroom \(setting) \(threads) threads: \(Int(r.authorizationsPerSecond)) authorizations/s (\(r.note)), correct \(r.correct)")
                results.closedLoop.append(r)
            }
        }
        // Callers as Swift tasks on the async API (as from event loops): none holds a thread while it waits.
        for (setting, options) in [("durable, group commit, async tasks", GroupCommitter.Options()),
                                   ("durable, journal, async tasks", GroupCommitter.Options(journal: .init()))] {
            for tasks in [64, 256] {
                let harness = try EngineHarness(workload: workload, store: try store("async"), durable: true)
                let r = try EngineRunner.closedLoop(harness, threads: tasks, setting: setting, committer: options, asyncTasks: true)
                say("headroom \(setting) \(tasks) tasks: \(Int(r.authorizationsPerSecond)) authorizations/s (\(r.note)), correct \(r.correct)")
                results.closedLoop.append(r)
            }
        }
        // Variants of the workload: uniform card choice, and the day's traffic packed into its peak hour.
        let variants: [(String, (inout WorkloadSpec) -> Void)] = [("uniform cards", { $0.zipf = false }), ("peak hour 20:00-21:00", { $0.peakHour = true })]
        for (label, change) in variants {
            var s = spec
            change(&s)
            let w = Workload.generate(s)
            for (setting, durable) in [("durable", true), ("no sync", false)] {
                var r = try EngineRunner.closedLoop(try EngineHarness(workload: w, store: try store("variant"), durable: durable), threads: 1, setting: setting)
                r.note = label
                say("headroom \(setting), \(label): \(Int(r.authorizationsPerSecond)) authorizations/s, correct \(r.correct)")
                results.variants = (results.variants ?? []) + [r]
            }
        }
        // The peers, on the same workload file.
        results.closedLoop += try Peers.run(workloadFile: workloadFile, peers: peers, scratch: scratch, say: say)

        // Open loop at NetsUnion's rates: one caller, and 64 callers through group commit.
        let rates: [Double] = [5_000, 20_000, 50_000, 92_000, 180_000]
        for (setting, durable) in [("durable", true), ("no sync", false)] {
            for rate in rates {
                let harness = try EngineHarness(workload: workload, store: try store("open"), durable: durable)
                let r = try OpenLoop.run(harness, rate: rate, seconds: quick ? 0.1 : 1.0, setting: setting)
                say("open loop \(setting) \(Int(rate))/s: p50 \(r.p50Microseconds) us, p99 \(r.p99Microseconds) us\(r.saturated ? " (saturated)" : "")")
                results.openLoop.append(r)
            }
        }
        for (setting, options) in [("durable, group commit, 64 callers", GroupCommitter.Options()),
                                   ("durable, journal, 64 callers", GroupCommitter.Options(journal: .init()))] {
            for rate in rates {
                let harness = try EngineHarness(workload: workload, store: try store("open"), durable: true)
                let r = try OpenLoop.runCallers(harness, rate: rate, seconds: quick ? 0.1 : 1.0, setting: setting, callers: 64, committer: options)
                say("open loop \(setting) \(Int(rate))/s: p50 \(r.p50Microseconds) us, p99 \(r.p99Microseconds) us\(r.saturated ? " (saturated)" : "")")
                results.openLoop.append(r)
            }
        }
        // As an event-loop front processor offers them: a task per payment, through the async API.
        // Two seconds of each rate (from a workload of its own, ten times longer), so that every
        // run crosses journal checkpoints (one a second) and their pauses count.
        var longSpec = spec
        longSpec.payments = spec.payments * 10
        let longWorkload = Workload.generate(longSpec)
        for rate in rates {
            let setting = "durable, journal, a task per payment"
            let harness = try EngineHarness(workload: longWorkload, store: try store("open"), durable: true)
            let r = try OpenLoop.runTasks(harness, rate: rate, seconds: quick ? 0.1 : 2.0, setting: setting,
                                          committer: GroupCommitter.Options(journal: .init()))
            say("open loop \(setting) \(Int(rate))/s: p50 \(r.p50Microseconds) us, p99 \(r.p99Microseconds) us\(r.saturated ? " (saturated)" : "")")
            results.openLoop.append(r)
        }

        // Scaling with active cards, and ageing over simulated days (no sync: the tree, not the disk).
        for cards in quick ? [10_000, 100_000] : (full ? [100_000, 1_000_000, 10_000_000] : [100_000, 1_000_000]) {
            var s = spec
            s.cards = cards
            let w = Workload.generate(s)
            let dir = try store("scale")
            let harness = try EngineHarness(workload: w, store: dir, durable: false)
            let r = try EngineRunner.closedLoop(harness, threads: 1, setting: "no sync")
            let size = Machine.size(of: dir)
            say("scaling \(cards) cards: \(String(format: "%.1f", r.seconds * 1e6 / Double(r.authorizations))) us/authorization")
            results.scaling.append(ScalingPoint(label: "\(cards) cards", cards: cards, day: 1,
                                                microsecondsPerAuthorization: r.seconds * 1e6 / Double(r.authorizations),
                                                storeBytes: size, correct: r.correct))
        }
        results.ageing = try Ageing.run(spec: spec, days: quick ? 3 : 30, store: try store("ageing"), say: say)

        // What the risk rules cost: limits alone and with them, alternately, on one workload.
        var riskSpec = spec
        riskSpec.payments = spec.payments * 10
        let riskWorkload = Workload.generate(riskSpec)
        results.risk = []
        for _ in 0..<(quick ? 1 : 3) {
            for risk in [false, true] {
                let harness = try EngineHarness(workload: riskWorkload, store: try store("risk"), durable: false, risk: risk)
                let r = try EngineRunner.closedLoop(harness, threads: 1, setting: risk ? "no sync, limits and risk rules" : "no sync, limits alone")
                say("\(r.setting): \(String(format: "%.1f", r.seconds * 1e6 / Double(r.authorizations))) us/authorization, correct \(r.correct)")
                results.risk!.append(r)
            }
        }

        // Allocations per authorization, counted by malloc_count.so in a child process.
        if let figures = Allocations.measure(peers: peers, cards: spec.cards, say: say) {
            results.allocationsPerAuthorization = figures.total
            results.allocationsInLMDB = figures.inLMDB
            results.allocationsHashingCard = figures.hashingCard
        }

        try Report.write(results, to: out)
        say("report written to \(out)/benchmarks.md")
    }

    func store(_ name: String) throws -> String {
        let path = scratch + "/\(name)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

func say(_ line: String) {
    FileHandle.standardError.write(Data("headroom-bench: \(line)\n".utf8))
}

struct Rerender: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Write the report again from a results.json, without measuring.")

    @Option(help: "The results of a run.") var results = "docs/benchmarks/results.json"
    @Option(help: "Where the report goes.") var out = "docs"

    func run() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: results))
        try Report.write(try JSONDecoder().decode(Results.self, from: data), to: out)
    }
}
