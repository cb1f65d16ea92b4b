import ArgumentParser
import Foundation

/// `--format table|json`, on every command that reads.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}

struct FormatOption: ParsableArguments {
    @Option(name: .long, help: "Output as a table for people or JSON for programs (table|json).")
    var format: OutputFormat = .table
}

/// The operator making a change, recorded in the store's audit log.
struct OperatorOption: ParsableArguments {
    @Option(name: .customLong("operator"), help: ArgumentHelp("Who makes this change (default: $HEADROOM_OPERATOR).", valueName: "name"))
    var name: String?

    /// The name, from the option or the environment; a change without one is refused.
    func resolved() throws -> String {
        if let name, !name.trimmingCharacters(in: .whitespaces).isEmpty { return name }
        if let env = ProcessInfo.processInfo.environment["HEADROOM_OPERATOR"], !env.isEmpty { return env }
        throw ValidationError("who makes this change? Give --operator NAME or set HEADROOM_OPERATOR")
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
