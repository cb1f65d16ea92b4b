import ArgumentParser
import Headroom

/// The exit statuses of `headroom`: one table, printed by `headroom --help` and copied into
/// docs/operating.md (a test holds the two equal).
enum ExitStatus: Int32, CaseIterable {
    case done = 0
    case problemsFound = 1
    case refused = 2
    case storeFailed = 3
    case badOptions = 64
    case interrupted = 130

    var meaning: String {
        switch self {
        case .done: "done"
        case .problemsFound: "store check or rules validate found problems, or reconcile refused lines (malformed or in conflict)"
        case .refused: "refused: bad input, no store at the path (noStore), dual control, a customer limit above the bank's, a card key problem"
        case .storeFailed: "the store failed (storage, corrupted, a full disk), its journal is damaged (journalDamaged), or another process journals it (storeBusy)"
        case .interrupted: "interrupted by Ctrl-C (143 for SIGTERM), after what was in flight was answered and summarised"
        case .badOptions: "bad options or arguments, said with the option's name"
        }
    }

    var code: ExitCode { ExitCode(rawValue) }

    /// For an error the engine threw.
    static func of(_ error: HeadroomError) -> ExitStatus {
        switch error.code {
        case .storage, .corrupted, .storeBusy, .journalDamaged: .storeFailed
        default: .refused
        }
    }

    /// The table as `headroom --help` shows it: a status a row, its meaning wrapped to fit 80
    /// columns (help wraps a longer line anywhere).
    static var helpText: String {
        allCases.map { status in
            var lines: [String] = []
            var line = ""
            for word in status.meaning.split(separator: " ") {
                if !line.isEmpty && line.count + 1 + word.count > 70 {
                    lines.append(line)
                    line = ""
                }
                line += line.isEmpty ? String(word) : " " + word
            }
            lines.append(line)
            let number = String(status.rawValue).padding(toLength: 5, withPad: " ", startingAt: 0)
            return lines.enumerated().map { i, text in (i == 0 ? "  \(number)" : "       ") + text }.joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// The table as docs/operating.md holds it (Markdown).
    static var markdown: String {
        (["| status | meaning |", "| --- | --- |"] + allCases.map { "| \($0.rawValue) | \($0.meaning) |" }).joined(separator: "\n")
    }
}
