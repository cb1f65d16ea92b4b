import Foundation

struct ScalingPoint: Codable, Sendable {
    var label: String
    var cards: Int
    var day: Int
    var microsecondsPerAuthorization: Double
    var storeBytes: Int
    var correct: Bool
}

struct Results: Codable, Sendable {
    var machine: [String: String]
    var workload: WorkloadSpec
    var ops: Int
    var authorizations: Int
    var quick: Bool
    var command: String
    var closedLoop: [RunResult] = []
    /// The engine on variants of the workload (uniform cards, the peak hour), one caller.
    var variants: [RunResult]? = []
    var openLoop: [OpenLoopResult] = []
    var scaling: [ScalingPoint] = []
    var ageing: [ScalingPoint] = []
    var allocationsPerAuthorization: Double?
    /// Of those, made inside liblmdb and hashing the card number (older results have none).
    var allocationsInLMDB: Double?
    var allocationsHashingCard: Double?
    /// The shipped rule set with its risk rules against its limits alone, alternately on the
    /// same workload (older results have none).
    var risk: [RunResult]?
}

enum Machine {
    static func describe() -> [String: String] {
        var m: [String: String] = [:]
        m["cores"] = "\(ProcessInfo.processInfo.activeProcessorCount)"
        m["memory"] = "\(ProcessInfo.processInfo.physicalMemory >> 30) GiB"
        if let cpu = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = cpu.split(separator: "\n").first(where: { $0.hasPrefix("model name") }) {
            m["cpu"] = line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) }
        }
        m["kernel"] = ProcessInfo.processInfo.operatingSystemVersionString
        m["filesystem"] = shell("df -T \(NSTemporaryDirectory()) | tail -1 | awk '{print $2\" on \"$1}'")
        m["swift"] = shell("swift --version 2>/dev/null | head -1")
        m["date"] = ISO8601DateFormatter().string(from: Date())
        return m
    }

    static func size(of directory: String) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: directory + "/data.mdb")[.size] as? Int) ?? 0
    }

    static func shell(_ command: String) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try? p.run()
        p.waitUntilExit()
        return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

enum Ageing {
    /// One store, `days` natural days of traffic one after the other: the cost per
    /// authorization and the store's size as it ages.
    static func run(spec: WorkloadSpec, days: Int, store: String, say: (String) -> Void) throws -> [ScalingPoint] {
        var points: [ScalingPoint] = []
        for day in 0..<days {
            var s = spec
            s.seed = spec.seed &+ UInt64(day)
            s.dayStart = spec.dayStart + Int64(day) * 86_400
            s.payments = spec.payments / (days > 5 ? 4 : 1)
            s.idPrefix = "D\(day + 1)-"
            let w = Workload.generate(s)
            let harness = try EngineHarness(workload: w, store: store, durable: false)
            let r = try EngineRunner.closedLoop(harness, threads: 1, setting: "no sync", verify: false)
            points.append(ScalingPoint(label: "day \(day + 1)", cards: spec.cards, day: day + 1,
                                       microsecondsPerAuthorization: r.seconds * 1e6 / Double(r.authorizations),
                                       storeBytes: Machine.size(of: store), correct: r.correct))
        }
        if let last = points.last {
            say("ageing: day \(last.day): \(String(format: "%.1f", last.microsecondsPerAuthorization)) us/authorization, store \(last.storeBytes >> 20) MiB")
        }
        return points
    }
}
