import Foundation

/// Runs the C peers on the workload file; a peer whose program or server is missing is skipped
/// with a message.
enum Peers {
    /// Operations per transaction in the raw peer's durable batched runs: as group commit
    /// forms them under load, and ten times that.
    static let rawBatches = [100, 1_000]

    /// `day`: the day store's own payments, which each peer runs first, untimed, into its own
    /// store. `boundedSeconds`: how long the slow peers (SQLite) run, from the same workload.
    static func run(workloadFile: String, day: String?, peers: String, scratch: String, boundedSeconds: Double,
                    say: (String) -> Void) throws -> [RunResult] {
        var results: [RunResult] = []
        let fm = FileManager.default
        let prefill = day ?? "-"
        func peer(_ name: String) -> String? {
            let path = "\(peers)/\(name)"
            if fm.isExecutableFile(atPath: path) { return path }
            say("skipped \(name): not built (scripts/bench builds it; it needs liblmdb-dev, libsqlite3-dev)")
            return nil
        }
        if let lmdb = peer("lmdb_raw") {
            // Durable commits of 100 and 1,000 operations, and commits of 1,000 without sync: the
            // raw ceiling for each way of committing, one thread, no rules engine.
            for (setting, batch) in [("durable", rawBatches[0]), ("durable", rawBatches[1]), ("nosync", rawBatches[1])] {
                let dir = scratch + "/lmdb-raw-\(setting)-\(batch)"
                try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
                defer { try? fm.removeItem(atPath: dir) }
                if var r = runPeer(lmdb, [workloadFile, dir, setting, "\(batch)", prefill], say: say) {
                    r.setting = (setting == "durable" ? "durable" : "no sync") + ", batches of \(Report.n(Double(batch)))"
                    results.append(r)
                }
            }
        }
        if let prototype = peer("writebehind") {
            // The ceiling of write-behind (decision 0019), a C prototype: decide from memory,
            // journal each batch, apply to LMDB on a thread of its own.
            let dir = scratch + "/writebehind-closed"
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? fm.removeItem(atPath: dir) }
            if let r = runPeer(prototype, [workloadFile, dir, prefill, "0"], say: say) { results.append(r) }
        }
        if let sqlite = peer("sqlite_peer") {
            for setting in ["full", "normal"] {
                let file = scratch + "/sqlite-\(setting).db"
                defer { for suffix in ["", "-wal", "-shm"] { try? fm.removeItem(atPath: file + suffix) } }
                // One transaction and sync per operation: bounded in time (the row says so when it stopped).
                if let r = runPeer(sqlite, [workloadFile, file, setting, prefill, "\(boundedSeconds)"], say: say) { results.append(r) }
            }
        }
        if let redis = peer("redis_peer") {
            for fsync in ["always", "everysec"] {
                guard let server = RedisServer.start(directory: scratch + "/redis-\(fsync)", appendfsync: fsync, say: say) else { break }
                defer { server.stop() }
                if let r = runPeer(redis, [workloadFile, "\(server.port)", "appendfsync \(fsync)", "64", prefill], say: say) { results.append(r) }
            }
        }
        return results
    }

    /// The write-behind prototype in open loop: each rate offered for `seconds` from `workloadFile`.
    static func openLoop(workloadFile: String, day: String, rates: [Double], seconds: Double, peers: String, scratch: String,
                         say: (String) -> Void) -> [OpenLoopResult] {
        let program = "\(peers)/writebehind"
        guard FileManager.default.isExecutableFile(atPath: program) else {
            say("skipped writebehind: not built")
            return []
        }
        var results: [OpenLoopResult] = []
        for rate in rates {
            let dir = scratch + "/writebehind-open"
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: program)
            p.arguments = [workloadFile, dir, day, "\(Int(rate))", "\(seconds)"]
            let out = Pipe()
            p.standardOutput = out
            guard (try? p.run()) != nil else { continue }
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            guard p.terminationStatus == 0, let r = try? JSONDecoder().decode(OpenLoopResult.self, from: data) else {
                say("writebehind failed at \(Int(rate))/s (status \(p.terminationStatus))")
                continue
            }
            say("open loop \(r.setting) \(Int(rate))/s: achieved \(Int(r.achievedPerSecond))/s, p50 \(r.p50Microseconds) us, p99 \(r.p99Microseconds) us\(r.saturated ? " (saturated)" : "")")
            results.append(r)
        }
        return results
    }

    static func runPeer(_ program: String, _ arguments: [String], say: (String) -> Void) -> RunResult? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program)
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        do {
            try p.run()
        } catch {
            say("skipped \(program): \(error)")
            return nil
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0, let r = try? JSONDecoder().decode(RunResult.self, from: data) else {
            say("\(program) failed (status \(p.terminationStatus))")
            return nil
        }
        say("\(r.system) \(r.setting): \(Int(r.authorizationsPerSecond)) authorizations/s, correct \(r.correct)")
        return r
    }
}

/// redis-server on 127.0.0.1, a private directory, append-only file with the given fsync
/// policy, no RDB snapshots; stopped (and its directory removed) after its run.
final class RedisServer {
    let process: Process
    let port: Int
    let directory: String

    init(process: Process, port: Int, directory: String) {
        self.process = process
        self.port = port
        self.directory = directory
    }

    static func start(directory: String, appendfsync: String, say: (String) -> Void) -> RedisServer? {
        guard let binary = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first(where: FileManager.default.isExecutableFile) else {
            say("skipped redis: redis-server is not installed (Debian's redis-server)")
            return nil
        }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let port = 20_000 + Int(getpid() % 20_000)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["--bind", "127.0.0.1", "--port", "\(port)", "--dir", directory, "--appendonly", "yes",
                       "--appendfsync", appendfsync, "--save", "", "--daemonize", "no", "--protected-mode", "yes",
                       "--logfile", directory + "/redis.log"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do {
            try p.run()
        } catch {
            say("skipped redis: \(error)")
            return nil
        }
        return RedisServer(process: p, port: port, directory: directory)
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
