import Foundation
@_exported import HeadroomTesting
import Testing

/// Runs the built `headroom` binary.
enum CLI {
    /// The directory holding the built products (the test binary sits beside `headroom`).
    static let productsDirectory: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("headroom").path), dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        return dir.path
    }()

    static var binary: String { productsDirectory + "/headroom" }

    static let cardKeyHex = String(repeating: "3c", count: 32)

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        var lines: [String] { stdout.split(separator: "\n").map(String.init) }
    }

    /// Whether the tests can act as several operators: as root, a command's operator is the
    /// account behind sudo (`$SUDO_USER`), which ``run(_:input:directory:environment:as:)`` sets.
    static let canActAsOperators = geteuid() == 0

    static func environment(_ extra: [String: String], as account: String? = nil) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["SUDO_USER"] = account
        env["HEADROOM_CARD_KEY"] = cardKeyHex
        for (k, v) in extra { env[k] = v }
        return env
    }

    /// Runs `headroom` with `arguments`, feeding `input` on standard input; `account`: the
    /// operator, as the account behind sudo (root only).
    static func run(_ arguments: [String], input: String = "", directory: String? = nil, environment extra: [String: String] = [:],
                    as account: String? = nil, executable: String? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable ?? binary)
        process.arguments = arguments
        process.environment = environment(extra, as: account)
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
        process.standardInput = inPipe
        process.standardOutput = outPipe
        process.standardError = errPipe
        try process.run()
        let writer = Thread {
            inPipe.fileHandleForWriting.write(Data(input.utf8))
            try? inPipe.fileHandleForWriting.close()
        }
        writer.start()
        let err = ErrorCollector(errPipe.fileHandleForReading)
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: err.text())
    }

    /// Starts `headroom` reading `input` from a file (so it reads at its own pace), its answers
    /// in the returned pipe, its standard error dropped.
    static func start(_ arguments: [String], input: String, inputFile: String) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = environment([:])
        try input.write(toFile: inputFile, atomically: true, encoding: .utf8)
        process.standardInput = FileHandle(forReadingAtPath: inputFile)
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        return (process, out)
    }

    static func temporaryDirectory(_ name: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("headroom-cli-\(name)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// Reads a pipe to its end on a thread of its own, so a full pipe never blocks the child.
final class ErrorCollector: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread {
            self.data = handle.readDataToEndOfFile()
            self.done.signal()
        }.start()
    }

    func text() -> String {
        done.wait()
        return String(decoding: data, as: UTF8.self)
    }
}

/// A valid card number (Luhn) from a number.
func pan(_ n: Int) -> String { TestCards.number(n) }

/// The JSON object of one output line.
func object(_ line: String) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
}
