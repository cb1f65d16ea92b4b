import ArgumentParser
import Foundation
import HeadroomCore

/// `--format table|json`, on every command that reads.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}

struct FormatOption: ParsableArguments {
    @Option(name: .long, help: "Output as a table for people or JSON for programs (table|json).")
    var format: OutputFormat = .table
}

/// The operator making a change, recorded in the store's audit log: the account that runs the
/// command, never a name typed on it. Under `sudo`, the account behind it (`$SUDO_USER`, read
/// only when the effective user is root: only root can set it, and root can do anything).
struct OperatorOption: ParsableArguments {
    @Option(name: .customLong("operator"), help: ArgumentHelp(visibility: .hidden))
    var typed: String?

    func validate() throws {
        if typed != nil {
            throw ValidationError("--operator is not taken: the operator is the account that runs the command (here \(Self.account())); run it from your own account, or with sudo from it")
        }
    }

    /// The account's name.
    func resolved() throws -> String { Self.account() }

    static func account() -> String {
        let euid = geteuid()
        if euid == 0, let user = ProcessInfo.processInfo.environment["SUDO_USER"], !user.isEmpty { return user }
        guard let entry = getpwuid(euid), let name = entry.pointee.pw_name else { return "uid \(euid)" }
        return String(cString: name)
    }
}

/// Columns aligned with spaces; the first row is the header.
struct Table {
    var rows: [[String]]

    init(_ header: [String]) {
        rows = [header]
    }

    mutating func add(_ row: [String]) { rows.append(row) }

    var text: String {
        let widths = rows.reduce(into: [Int](repeating: 0, count: rows[0].count)) { widths, row in
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

/// Prints a JSON value (dictionaries, arrays, strings, numbers, `NSNull`) with sorted keys.
func printJSON(_ value: Any) {
    let data = (try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data("null".utf8)
    print(String(decoding: data, as: UTF8.self))
}

/// `2026-11-25T10:00:00+08:00`, or `-`.
func chinaTime(_ seconds: Int64?) -> String {
    guard let seconds else { return "-" }
    return HeadroomCoreTime.iso(seconds)
}

/// Whether standard error is a terminal (progress is shown only there).
var standardErrorIsTerminal: Bool { isatty(2) == 1 }

/// Shows progress at most five times a second, on a terminal only.
struct ProgressMeter {
    private var last = DispatchTime.now().uptimeNanoseconds

    mutating func tick(_ text: @autoclosure () -> String) {
        guard standardErrorIsTerminal else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        if now - last < 200_000_000 { return }
        last = now
        progress(text())
    }
}

/// Progress on one terminal line, rewritten in place.
func progress(_ text: String) {
    guard standardErrorIsTerminal else { return }
    FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8))
}

func endProgress() {
    guard standardErrorIsTerminal else { return }
    FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
}

/// A card number given on the command line, or read from a file or standard input (`-`): one
/// typed on the command line stays in the shell's history and in /proc/PID/cmdline, which other
/// accounts may read. Exactly one of the two.
func cardNumber(typed: String?, file: String?, flag: String) throws -> CardNumber {
    let text: String
    switch (typed, file) {
    case (let typed?, nil):
        text = typed
    case (nil, let file?):
        let data: Data?
        if file == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            data = FileManager.default.contents(atPath: file)
        }
        guard let data else { throw ValidationError("--card-file: cannot read \(file)") }
        let lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).filter { !$0.allSatisfy(\.isWhitespace) }
        guard lines.count == 1 else {
            throw ValidationError("--card-file: \(file == "-" ? "standard input" : file) holds \(lines.count) lines: give one card number")
        }
        text = lines[0].trimmingCharacters(in: .whitespaces)
    case (nil, nil):
        throw ValidationError("which card? Give \(flag) or --card-file FILE (- for standard input: keeps the number out of the shell's history)")
    case (_?, _?):
        throw ValidationError("give \(flag) or --card-file, not both")
    }
    do {
        return try CardNumber(text)
    } catch {
        throw ValidationError("\(file == nil ? flag : "--card-file"): \(error)")
    }
}
