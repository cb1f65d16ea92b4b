import ArgumentParser
import Foundation

/// Allocations per authorization in steady state: this program again, in a child process with
/// malloc_count.so preloaded, authorizes a warm-up half of a workload, then counts the
/// allocations made inside each authorization of the second half.
struct Allocations: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Count allocations per authorization (run with malloc_count.so preloaded).")

    @Option var cards = 100_000
    @Option var payments = 4_000
    @Option var scratch = NSTemporaryDirectory() + "headroom-bench-allocations"

    func run() throws {
        typealias Counter = @convention(c) () -> UInt
        // The whole process's symbols (RTLD_DEFAULT's value differs between systems; this does not).
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "headroom_allocations") else {
            throw ValidationError("malloc_count.so is not preloaded")
        }
        let count = unsafeBitCast(symbol, to: Counter.self)
        try? FileManager.default.removeItem(atPath: scratch)
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var spec = WorkloadSpec()
        spec.cards = cards
        spec.payments = payments
        let harness = try EngineHarness(workload: Workload.generate(spec), store: scratch, durable: false)
        let ops = harness.workload.ops
        var total: UInt = 0
        var authorizations = 0
        for i in ops.indices {
            let measured = i >= ops.count / 2 && ops[i].kind == Op.Kind.authorize.rawValue
            let before = count()
            harness.run(i)
            if measured {
                total += count() - before
                authorizations += 1
            }
        }
        print(Double(total) / Double(max(1, authorizations)))
    }

    static func measure(peers: String, cards: Int, say: (String) -> Void) -> Double? {
        let shim = URL(fileURLWithPath: peers + "/malloc_count.so").standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: shim) else {
            say("skipped allocations: \(shim) is not built")
            return nil
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        p.arguments = ["allocations", "--cards", "\(min(cards, 100_000))"]
        var env = ProcessInfo.processInfo.environment
        env["LD_PRELOAD"] = shim
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        guard (try? p.run()) != nil else { return nil }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let value = Double(text.trimmingCharacters(in: .whitespacesAndNewlines))
        say("allocations per authorization: \(value.map { String(format: "%.1f", $0) } ?? "not measured")")
        return value
    }
}
