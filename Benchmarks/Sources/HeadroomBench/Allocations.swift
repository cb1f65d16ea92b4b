import ArgumentParser
import Foundation
import Headroom
import HeadroomMetrics
import Prometheus

/// Allocations per authorization in steady state: this program again, in a child process with
/// malloc_count.so preloaded, authorizes a warm-up half of a workload, then counts the
/// allocations made inside each authorization of the second half: in all, those made inside
/// liblmdb (attributed by call stack), and those of hashing the card number (swift-crypto's
/// HMAC, counted by hashing the same cards again alone). What is left is Headroom's own. With
/// `--prometheus` (what the standard suite runs), the engine records its metrics into a
/// Prometheus registry meanwhile, as a monitored front processor's does.
struct Allocations: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Count allocations per authorization (run with malloc_count.so preloaded).")

    @Option var cards = 100_000
    @Option var payments = 4_000
    @Option var scratch = NSTemporaryDirectory() + "headroom-bench-allocations"
    @Flag(help: "Record the engine's metrics into a Prometheus registry.") var prometheus = false
    @Flag(help: "The shipped rule set whole, risk rules included (default: its limits alone).") var risk = false

    func run() throws {
        typealias Counter = @convention(c) () -> UInt
        typealias Switch = @convention(c) (Int32) -> Void
        // The whole process's symbols (RTLD_DEFAULT's value differs between systems; this does not).
        let process = dlopen(nil, RTLD_NOW)
        guard let total = dlsym(process, "headroom_allocations"), let lmdb = dlsym(process, "headroom_allocations_in_lmdb"),
              let attribute = dlsym(process, "headroom_allocations_attribute") else {
            throw ValidationError("malloc_count.so is not preloaded")
        }
        let count = unsafeBitCast(total, to: Counter.self)
        let countInLMDB = unsafeBitCast(lmdb, to: Counter.self)
        let attributing = unsafeBitCast(attribute, to: Switch.self)
        try? FileManager.default.removeItem(atPath: scratch)
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var spec = WorkloadSpec()
        spec.cards = cards
        spec.payments = payments
        let metrics = prometheus ? PrometheusMetricsFactory.headroom(PrometheusCollectorRegistry()) : nil
        let harness = try EngineHarness(workload: Workload.generate(spec), store: scratch, durable: false, metrics: metrics, risk: risk)
        let ops = harness.workload.ops
        var all: UInt = 0, inLMDB: UInt = 0
        var measured: [Int] = []
        for i in ops.indices {
            let measuring = i >= ops.count / 2 && ops[i].kind == Op.Kind.authorize.rawValue
            if measuring { attributing(1) }
            let before = count(), lmdbBefore = countInLMDB()
            harness.run(i)
            if measuring {
                attributing(0)
                all += count() - before
                inLMDB += countInLMDB() - lmdbBefore
                measured.append(i)
            }
        }
        let key = try CardKey(hex: EngineHarness.cardKeyHex)
        var hashing: UInt = 0
        for i in measured {
            let card = harness.requests[i]!.card
            let before = count()
            _ = key.hash(card)
            hashing += count() - before
        }
        let n = Double(max(1, measured.count))
        print(Double(all) / n, Double(inLMDB) / n, Double(hashing) / n)
    }

    /// Allocations per authorization: in all, inside liblmdb, and hashing the card.
    struct Figures: Codable, Sendable {
        var total: Double
        var inLMDB: Double
        var hashingCard: Double
        /// What Headroom's own code allocates: the rest.
        var own: Double { max(0, total - inLMDB - hashingCard) }
    }

    static func measure(peers: String, cards: Int, say: (String) -> Void) -> Figures? {
        let shim = URL(fileURLWithPath: peers + "/malloc_count.so").standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: shim) else {
            say("skipped allocations: \(shim) is not built")
            return nil
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        p.arguments = ["allocations", "--prometheus", "--cards", "\(min(cards, 100_000))"]
        var env = ProcessInfo.processInfo.environment
        env["LD_PRELOAD"] = shim
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        guard (try? p.run()) != nil else { return nil }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let values = text.split(whereSeparator: \.isWhitespace).compactMap { Double($0) }
        guard values.count == 3 else {
            say("allocations per authorization: not measured")
            return nil
        }
        let figures = Figures(total: values[0], inLMDB: values[1], hashingCard: values[2])
        say(String(format: "allocations per authorization: %.1f (%.1f inside liblmdb, %.1f hashing the card, %.1f Headroom's own)",
                   figures.total, figures.inLMDB, figures.hashingCard, figures.own))
        return figures
    }
}
