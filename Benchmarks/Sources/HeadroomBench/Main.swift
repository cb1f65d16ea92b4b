import ArgumentParser
import Foundation
import Headroom

@main
struct HeadroomBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "headroom-bench",
        abstract: "Headroom's benchmark suite: the engine against raw LMDB, SQLite and Redis on one workload.",
        subcommands: [Suite.self, Probe.self, Allocations.self, Rerender.self, WorkloadFiles.self],
        defaultSubcommand: Suite.self
    )
}

struct Suite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suite", abstract: "Run the standard suite (at the scale of a day) and write the report.",
        discussion: """
            Every run starts from a copy of one day store: 1,000,000 cards (10,000,000 with --full) that have each paid \
            once that morning, built through the engine before any timing. Closed-loop runs then take 1,000,000 payments \
            from 08:00, open-loop runs offer each rate for 10 seconds, and the peers (raw C on liblmdb, SQLite, Redis) \
            fill their own stores with the same morning first.
            """)

    @Flag(help: "A smoke run that finishes in about a minute (50,000 cards, small runs; figures are not comparable).") var quick = false
    @Flag(help: "A day store of 10,000,000 cards instead of 1,000,000.") var full = false
    @Option(help: "Where the report goes (benchmarks.md, benchmarks/*.svg, benchmarks/results.json).") var out = "docs"
    @Option(help: "The built peer programs (lmdb_raw, sqlite_peer, redis_peer, malloc_count.so).") var peers = ".build-bench/peers"
    @Option(help: "A scratch directory for stores.") var scratch = NSTemporaryDirectory() + "headroom-bench"
    @Option(help: "The command line that ran this suite, for the report.") var command = "scripts/bench"

    func run() throws {
        try? FileManager.default.removeItem(atPath: scratch)
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var spec = WorkloadSpec()
        spec.firstSecond = 8 * 3600
        spec.cards = quick ? 50_000 : full ? 10_000_000 : 1_000_000
        spec.payments = quick ? 20_000 : 1_000_000
        let openSeconds = quick ? 0.5 : 10.0
        let boundedSeconds = quick ? 1.0 : 10.0

        let day = try DayStore.build(cards: spec.cards, spec: spec, scratch: scratch, say: say)
        let workload = Workload.generate(spec)
        let prepared = try PreparedWorkload(workload)
        let workloadFile = scratch + "/workload.bin"
        try workload.write(to: workloadFile)
        var results = Results(machine: Machine.describe(), workload: spec, ops: workload.ops.count,
                              authorizations: workload.authorizations, quick: quick, command: command)
        results.day = DaySummary(cards: day.cards, payments: day.workload.authorizations, seconds: day.seconds,
                                 storeBytes: day.storeBytes, correct: day.correct)
        say("workload: \(spec.description): \(workload.ops.count) operations")

        /// A harness on a new copy of the day store, recording its pauses; its store goes after `body`.
        func onDay<T>(_ prepared: PreparedWorkload, durable: Bool, _ body: (EngineHarness) throws -> T) throws -> T {
            let dir = try store("run")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            try day.copy(to: dir)
            let harness = try EngineHarness(prepared: prepared, store: dir, durable: durable, mapSizeBytes: DayStore.mapSizeBytes(cards: spec.cards),
                                            pauses: true)
            harness.baseline = day.baseline
            defer { harness.close() }
            return try body(harness)
        }

        // Closed loop: the engine's durable modes at 8 and 64 caller threads and 256 async tasks;
        // group commit without the journal; one caller without sync (the CPU per payment); and
        // one durable caller, bounded in time (it waits for a sync per operation).
        let journal = GroupCommitter.Options(journal: .init())
        let writeBehind = GroupCommitter.Options(writeBehind: .init())
        let closed: [(String, Bool, GroupCommitter.Options?, Int, Bool, Double?)] = [
            ("durable, journal", true, journal, 8, false, nil),
            ("durable, journal", true, journal, 64, false, nil),
            ("durable, journal, async tasks", true, journal, 256, true, nil),
            ("durable, write-behind", true, writeBehind, 64, false, nil),
            ("durable, write-behind, async tasks", true, writeBehind, 256, true, nil),
            ("durable, group commit", true, GroupCommitter.Options(), 64, false, nil),
            ("no sync", false, nil, 1, false, nil),
            ("durable, journal", true, journal, 1, false, boundedSeconds),
        ]
        for (setting, durable, options, threads, asyncTasks, bound) in closed {
            let r = try onDay(prepared, durable: durable) {
                try EngineRunner.closedLoop($0, threads: threads, setting: setting, committer: options, asyncTasks: asyncTasks, seconds: bound)
            }
            say("headroom \(setting) \(threads) \(asyncTasks ? "tasks" : "threads"): \(Int(r.authorizationsPerSecond)) authorizations/s over \(r.authorizations)\(r.note.isEmpty ? "" : " (\(r.note))"), correct \(r.correct)")
            results.closedLoop.append(r)
        }

        // The peers, on the same workload file, each filling its own store with the same morning first.
        results.closedLoop += try Peers.run(workloadFile: workloadFile, day: day.workloadFile, peers: peers, scratch: scratch,
                                            boundedSeconds: boundedSeconds, say: say)

        // Open loop at NetsUnion's rates, as an event-loop front processor offers them: a task per
        // payment through the async API, journal mode and write-behind, each rate for `openSeconds`.
        var openSpec = spec
        openSpec.payments = Int(180_000 * openSeconds * 1.02) + 1_000
        let openWorkload = try PreparedWorkload(Workload.generate(openSpec))
        let rates = [20_000.0, 50_000, 92_000, 180_000]
        for (mode, options) in [("journal", journal), ("write-behind", writeBehind)] {
            for rate in rates {
                let setting = "durable, \(mode), a task per payment"
                let r = try onDay(openWorkload, durable: true) {
                    try OpenLoop.runTasks($0, rate: rate, seconds: openSeconds, setting: setting, committer: options)
                }
                say("open loop \(setting) \(Int(rate))/s: achieved \(Int(r.achievedPerSecond))/s, p50 \(r.p50Microseconds) us, p99 \(r.p99Microseconds) us, max \(r.maxMicroseconds) us\(r.saturated ? " (saturated)" : "")")
                results.openLoop.append(r)
            }
        }
        // The write-behind prototype at the same rates, from the same payments.
        let openFile = scratch + "/open.bin"
        try openWorkload.workload.write(to: openFile)
        results.openLoop += Peers.openLoop(workloadFile: openFile, day: day.workloadFile, rates: rates, seconds: openSeconds,
                                           peers: peers, scratch: scratch, say: say)

        // What the risk rules cost: limits alone and with them, alternately, on new stores (a day
        // store holds the rule set it was built with: another is put in force only by operators).
        var riskSpec = spec
        riskSpec.payments = quick ? 5_000 : 200_000
        let riskWorkload = try PreparedWorkload(Workload.generate(riskSpec))
        results.risk = []
        for _ in 0..<(quick ? 1 : 3) {
            for risk in [false, true] {
                let dir = try store("risk")
                defer { try? FileManager.default.removeItem(atPath: dir) }
                let harness = try EngineHarness(prepared: riskWorkload, store: dir, durable: false, risk: risk)
                defer { harness.close() }
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

struct WorkloadFiles: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workload", abstract: "Write the suite's workload files for the C peers: day.bin (the day store's morning) and workload.bin (the payments from 08:00).")

    @Option(help: "Cards (every one pays once in day.bin).") var cards = 1_000_000
    @Option(help: "Payments in workload.bin.") var payments = 1_000_000
    @Option(help: "Where the files go.") var out = "."

    func run() throws {
        var spec = WorkloadSpec()
        spec.firstSecond = 8 * 3600
        spec.cards = cards
        spec.payments = payments
        try Workload.prefill(cards: cards, spec: spec).write(to: out + "/day.bin")
        try Workload.generate(spec).write(to: out + "/workload.bin")
    }
}
