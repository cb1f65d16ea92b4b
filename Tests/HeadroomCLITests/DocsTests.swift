import Foundation
import Testing

/// The docs are true to the binary: the operator's day in docs/operating.md runs as written, and
/// every command and option the docs show exists.
@Suite(.serialized) struct DocsTests {
    static let commands = [["replay"], ["rules", "validate"], ["rules", "diff"], ["rules", "propose"], ["rules", "approve"],
                           ["rules", "reject"], ["rules", "activate"], ["rules", "cancel"], ["rules", "rollback"], ["rules", "history"],
                           ["rules", "show"], ["card-limit", "set"], ["card-limit", "get"], ["card-limit", "clear"], ["usage"], ["explain"],
                           ["store", "stat"], ["store", "backup"], ["store", "check"], ["store", "purge"], ["store", "accept-journal-loss"],
                           ["store", "migrate"], ["audit"], ["payment"], ["report"], ["reconcile"], ["expire"],
                           ["list", "add"], ["list", "import"], ["list", "remove"], ["list", "approve-removal"], ["list", "show"], ["rules", "shadow"], ["rules", "shadow-report"]]

    static func read(_ path: String) throws -> String {
        try String(contentsOfFile: CLI.repositoryRoot + "/" + path, encoding: .utf8)
    }

    /// The lines of the fenced code blocks of a Markdown text.
    static func codeLines(_ text: String) -> [String] {
        var inside = false
        var out: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") { inside.toggle(); continue }
            if inside { out.append(String(line)) }
        }
        return out
    }

    /// A command line as a shell splits it (quotes, one `< file`), without its prompt.
    static func words(_ line: String) -> (arguments: [String], input: String?) {
        var words: [String] = []
        var current = ""
        var quote: Character?
        var started = false
        for c in line {
            if let q = quote {
                if c == q { quote = nil } else { current.append(c) }
            } else if c == "\"" || c == "'" {
                quote = c
                started = true
            } else if c == " " {
                if started || !current.isEmpty { words.append(current) }
                current = ""
                started = false
            } else {
                current.append(c)
            }
        }
        if started || !current.isEmpty { words.append(current) }
        if let at = words.firstIndex(of: "<"), at + 1 < words.count {
            let input = words[at + 1]
            words.removeSubrange(at...(at + 1))
            return (words, input)
        }
        return (words, nil)
    }

    /// Times, dates, sizes and reader counts vary from run to run; runs of spaces are columns.
    static func normalized(_ line: String) -> String {
        var s = line
        for (pattern, with) in [(#"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00"#, "TIME"), (#"\d{4}-\d\d-\d\d"#, "DATE"),
                                (#"\(\d+ bytes\)"#, "(N bytes)"), (#"readers +\d+"#, "readers N"), (#"damaged-\d+"#, "damaged-N"),
                                (#" +"#, " ")] {
            s = s.replacingOccurrences(of: pattern, with: with, options: .regularExpression)
        }
        return s.trimmingCharacters(in: .whitespaces)
    }

    /// Every command of "A day in the life of an operator", run in order on the store it
    /// describes; each output line shown must be in the real output, in order, and a command
    /// shown refused must fail.
    @Test(.enabled(if: CLI.canActAsOperators, "the day's commands are run by several accounts: needs root (sudo's account)"))
    func theOperatorsDayRunsAsWritten() throws {
        let operating = try Self.read("docs/operating.md")
        let day = operating.components(separatedBy: "## A day in the life of an operator")[1].components(separatedBy: "\n## ")[0]
        let root = try CLI.temporaryDirectory("docs-day")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let example = try Self.read("examples/payments.jsonl")
        #expect(try CLI.run(["replay", "--store", root + "/store", "--rules", CLI.repositoryRoot + "/Rules"], input: example).status == 0)
        try FileManager.default.copyItem(atPath: CLI.repositoryRoot + "/Rules", toPath: root + "/proposed")
        let institution = root + "/proposed/institution.yaml"
        try (try String(contentsOfFile: institution, encoding: .utf8)).replacingOccurrences(of: "amount_max: 50000.00", with: "amount_max: 30000.00")
            .write(toFile: institution, atomically: true, encoding: .utf8)
        // The risk team's stricter burst, tried in shadow at 20:40.
        try FileManager.default.copyItem(atPath: CLI.repositoryRoot + "/Rules", toPath: root + "/stricter")
        let risk = root + "/stricter/risk.yaml"
        try (try String(contentsOfFile: risk, encoding: .utf8)).replacingOccurrences(of: "count_max: 30", with: "count_max: 5")
            .write(toFile: risk, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: root + "/examples", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: CLI.repositoryRoot + "/examples/operating", toPath: root + "/examples/operating")

        var commands: [(account: String?, line: String, expected: [String])] = []
        for line in Self.codeLines(day) {
            if let range = line.range(of: "$ headroom ") {
                let prompt = String(line[..<range.lowerBound])
                commands.append((prompt.isEmpty ? nil : prompt, String(line[range.upperBound...]), []))
            } else if !line.isEmpty, !commands.isEmpty {
                commands[commands.count - 1].expected.append(line)
            }
        }
        #expect(commands.count >= 15)
        for command in commands {
            let (arguments, input) = Self.words(command.line)
            let text = try input.map { try String(contentsOfFile: root + "/" + $0, encoding: .utf8) } ?? ""
            let result = try CLI.run(arguments, input: text, directory: root, as: command.account)
            // Refused: a line shown says `headroom: someCode: ...` (an error, or lines refused).
            let refused = command.expected.contains { $0.range(of: #"^headroom: [a-zA-Z]+: "#, options: .regularExpression) != nil }
            #expect((result.status != 0) == refused, "\(command.line): status \(result.status)\n\(result.stderr)")
            var actual = (result.stdout + result.stderr).split(separator: "\n").map { Self.normalized(String($0)) }[...]
            for wanted in command.expected.map(Self.normalized) {
                let prefix = wanted.hasSuffix(" …") ? String(wanted.dropLast(2)) : nil
                guard let at = actual.firstIndex(where: { prefix.map($0.hasPrefix) ?? ($0 == wanted) }) else {
                    Issue.record("\(command.line): the docs show \"\(wanted)\"; the binary said:\n\(result.stdout)\(result.stderr)")
                    break
                }
                actual = actual[(at + 1)...]
            }
        }
    }

    /// Every `headroom` command line in README.md and docs/ names a command that exists, with
    /// options it has.
    @Test func everyDocumentedCommandExists() throws {
        var helps: [[String]: String] = [:]
        for command in Self.commands { helps[command] = try CLI.run(command + ["--help"]).stdout }
        let pages = ["README.md"] + (try FileManager.default.contentsOfDirectory(atPath: CLI.repositoryRoot + "/docs"))
            .filter { $0.hasSuffix(".md") }.map { "docs/" + $0 }
        var checked = 0
        for page in pages {
            for line in Self.codeLines(try Self.read(page)) {
                guard let range = line.range(of: #"(^|\$ |scripts/)headroom "#, options: .regularExpression) else { continue }
                let written = Self.words(String(line[range.upperBound...]).components(separatedBy: " #")[0]).arguments
                guard let first = written.first, !first.hasPrefix("-"), !first.contains("|") else { continue }
                // `store stat|backup|check ...`: each of the subcommands named.
                let variants = written.count > 1 && written[1].contains("|")
                    ? written[1].split(separator: "|").map { [first, String($0)] + written.dropFirst(2) } : [written]
                for words in variants {
                    let command = Self.commands.filter { Array(words.prefix($0.count)) == $0 }.max { $0.count < $1.count }
                    guard let command, let help = helps[command] else {
                        Issue.record("\(page): \"\(line)\" names no command")
                        continue
                    }
                    for written in words {
                        let word = written.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
                        guard word.hasPrefix("--") else { continue }
                        let option = word.components(separatedBy: "=")[0]
                        #expect(help.contains(option + " ") || help.contains(option + "\n"), "\(page): \"\(line)\": \(command.joined(separator: " ")) has no \(option)")
                    }
                    checked += 1
                }
            }
        }
        #expect(checked >= 40, "only \(checked) command lines found in the docs")
    }

    /// The README's Swift examples are the code that Tests/LibraryTests runs (between its
    /// `// README: <name>` and `// README: end` markers), in a target that sees `Headroom` alone.
    @Test func theReadmeExamplesAreTheOnesThatRun() throws {
        let readme = try Self.read("README.md")
        var blocks: [String] = []
        var current: [String]?
        for line in readme.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "```swift" { current = []; continue }
            if line == "```", let block = current { blocks.append(block.joined(separator: "\n")); current = nil; continue }
            current?.append(String(line))
        }
        let test = try Self.read("Tests/LibraryTests/ReadmeExampleTests.swift")
        var tested: [String] = []
        var inside: [String]?
        for line in test.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("// README: end"), let block = inside { tested.append(block.joined(separator: "\n")); inside = nil; continue }
            if trimmed.hasPrefix("// README: ") { inside = []; continue }
            inside?.append(String(line))
        }
        // The test's indentation (of its function or block) taken off.
        let dedented = tested.map { block in
            let lines = block.split(separator: "\n", omittingEmptySubsequences: false)
            let indent = lines.map { $0.prefix { $0 == " " }.count }.min() ?? 0
            return lines.map { String($0.dropFirst(indent)) }.joined(separator: "\n")
        }
        #expect(blocks.count == 2)
        #expect(blocks.first?.hasPrefix("import Headroom\n\n") == true, "the first example imports Headroom alone")
        for block in blocks {
            let code = block.split(separator: "\n", omittingEmptySubsequences: false).drop { $0.hasPrefix("import ") || $0.isEmpty }
                .joined(separator: "\n")
            #expect(dedented.contains(code), "README block not run by LibraryTests:\n\(code)")
        }
    }

    /// docs/replay.md's answer and summaries are what replaying examples/payments.jsonl gives.
    @Test func theReplayPageShowsRealAnswers() throws {
        let page = try Self.read("docs/replay.md")
        let root = try CLI.temporaryDirectory("docs-replay")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let example = try Self.read("examples/payments.jsonl")
        let run = try CLI.run(["replay", "--store", root + "/s", "--rules", CLI.repositoryRoot + "/Rules"], input: example)
        #expect(run.status == 0)
        // The authorization shown (one JSON object over several lines) is the real one.
        let shown = page.components(separatedBy: "```json\n")[1].components(separatedBy: "```")[0].replacingOccurrences(of: "\n", with: "")
        let documented = try #require(try JSONSerialization.jsonObject(with: Data(shown.utf8)) as? NSDictionary)
        let id = try #require(documented["id"] as? String)
        let real = run.lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? NSDictionary }
            .first { $0["id"] as? String == id && $0["op"] as? String == "authorize" }
        #expect(real == documented, "docs/replay.md shows \(documented); the binary answers \(String(describing: real))")
        // The summary of one caller, to the letter; those of group commit, but for their timings.
        let all = Self.codeLines(page).filter { $0.hasPrefix("headroom: replayed") }
        let summaries = all.filter { !$0.contains("to the store behind") }
        #expect(summaries.count == 3)
        #expect(run.stderr.contains(summaries[0]), "\(run.stderr)")
        for summary in summaries.dropFirst() {
            #expect(summary.hasPrefix(String(summaries[0].dropLast(")".count))))
        }
        // Write-behind's: its counts vary with the callers' timing (the page says so); its shape
        // is the binary's.
        let shape = /^headroom: replayed 11 lines: [0-9]+ approved, [0-9]+ declined, [0-9]+ confirmed, [0-9]+ released, [0-9]+ refunded, [0-9]+ errors; 1 retries answered again \(rule set v1; [0-9.]+ operations per batch; [0-9]+ appl(y|ies) to the store behind, the longest [0-9.]+ ms\)$/
        let behind = try #require(all.first { $0.contains("to the store behind") })
        #expect(behind.wholeMatch(of: shape) != nil, "\(behind)")
        let wb = try CLI.run(["replay", "--store", root + "/wb", "--rules", CLI.repositoryRoot + "/Rules", "--callers", "4", "--write-behind"],
                             input: example)
        let summary = try #require(wb.stderr.split(separator: "\n").map(String.init).first { $0.hasPrefix("headroom: replayed") }, "\(wb.stderr)")
        #expect(wb.status == 0 && summary.wholeMatch(of: shape) != nil, "\(summary)")
    }
}
