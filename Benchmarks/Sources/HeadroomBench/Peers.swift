import Foundation

/// Runs the C peers on the workload file; a peer whose program or server is missing is skipped
/// with a message.
enum Peers {
    /// Operations per transaction in the raw peer's batched runs.
    static let rawBatch = 64

    static func run(workloadFile: String, peers: String, scratch: String, say: (String) -> Void) throws -> [RunResult] {
        var results: [RunResult] = []
        let fm = FileManager.default
        func peer(_ name: String) -> String? {
            let path = "\(peers)/\(name)"
            if fm.isExecutableFile(atPath: path) { return path }
            say("skipped \(name): not built (scripts/bench builds it; it needs liblmdb-dev, libsqlite3-dev)")
            return nil
        }
        if let lmdb = peer("lmdb_raw") {
            // One transaction per operation, and batches of 64 (as group commit forms them with
            // 64 callers): the raw ceiling for each way of committing.
            for batch in [1, rawBatch] {
                for setting in ["durable", "nosync"] {
                    let dir = scratch + "/lmdb-raw-\(setting)-\(batch)"
                    try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
                    if let r = runPeer(lmdb, [workloadFile, dir, setting, "\(batch)"], say: say) {
                        var r = r
                        r.setting = (setting == "durable" ? "durable" : "no sync") + (batch == 1 ? "" : ", batches of \(batch)")
                        results.append(r)
                    }
                }
            }
        }
        if let sqlite = peer("sqlite_peer") {
            for setting in ["full", "normal"] {
                if let r = runPeer(sqlite, [workloadFile, scratch + "/sqlite-\(setting).db", setting], say: say) { results.append(r) }
            }
        }
        if let redis = peer("redis_peer") {
            for fsync in ["always", "everysec"] {
                guard let server = RedisServer.start(directory: scratch + "/redis-\(fsync)", appendfsync: fsync, say: say) else { break }
                defer { server.stop() }
                if let r = runPeer(redis, [workloadFile, "\(server.port)", "appendfsync \(fsync)", "64"], say: say) { results.append(r) }
            }
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
