import Foundation

/// The day store every run starts from.
struct DaySummary: Codable, Sendable {
    var cards: Int
    var payments: Int
    /// How long building it took (group commit, no sync; not a result).
    var seconds: Double
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
    /// The day store the runs start from (older results have none: they ran on empty stores).
    var day: DaySummary?
    var closedLoop: [RunResult] = []
    var openLoop: [OpenLoopResult] = []
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
