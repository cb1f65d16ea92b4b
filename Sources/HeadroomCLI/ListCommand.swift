import ArgumentParser
import Foundation
import Headroom
import HeadroomCore

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Manage the risk lists that risk rules name (a blocked card, an agreement, a merchant, an institution).",
        discussion: """
        Adding takes effect at the next payment and needs one operator (a stolen card cannot wait). \
        Taking an entry off needs two: one asks (remove), another approves (approve-removal); until \
        then the entry stays in force. Every step is in the audit log. Cards are stored as keyed \
        hashes and shown masked.

        Examples:
          headroom list add blocked-cards --kind card --from card.txt --store DIR
          headroom list import blocked-merchants m.txt --kind merchant --store DIR
          headroom list show blocked-cards --store DIR
          headroom list remove blocked-cards --from card.txt --store DIR   # alice
          headroom list approve-removal blocked-cards --from card.txt \\
            --store DIR                                                 # bob
        """,
        subcommands: [Add.self, Import.self, Remove.self, ApproveRemoval.self, Show.self]
    )

    /// The list and its entries, from the command line or a file (`-`: standard input).
    struct Entries: ParsableArguments {
        @Argument(help: ArgumentHelp("The list's name (a-z, 0-9, '.', '-', '_').", valueName: "name"))
        var name: String

        @Argument(help: ArgumentHelp("Entries. A card number typed here stays in the shell's history: prefer --from.", valueName: "entry"))
        var entries: [String] = []

        @Option(name: .long, help: ArgumentHelp("A file of entries, one per line, or - for standard input.", valueName: "path"))
        var from: String?

        @Option(name: .long, help: ArgumentHelp("What the list holds: card, agreement, merchant or institution (required for a new list).", valueName: "kind"))
        var kind: String?

        var source: EntrySource { EntrySource(name: name, entries: entries, from: from, kind: kind) }

        func validate() throws { try source.validate() }

        func parsed(_ engine: Engine) throws -> [ListEntry] { try source.parsed(engine) }

        /// Runs `body` for each entry, on the store opened for writing, as the operator.
        func each(_ store: StoreOptions, _ who: OperatorOption, _ body: (Engine, ListEntry, String) throws -> Void) throws {
            let name = try who.resolved()
            let engine = try store.openEngine(rules: nil)
            for entry in try parsed(engine) { try body(engine, entry, name) }
        }
    }

    /// Where a command's entries come from: the command line or a file.
    struct EntrySource {
        var name: String
        var entries: [String]
        var from: String?
        var kind: String?

        func validate() throws {
            if entries.isEmpty && from == nil { throw ValidationError("which entries? Give them after the list's name, or --from FILE (- for standard input)") }
            if !entries.isEmpty && from != nil { throw ValidationError("give entries or --from, not both") }
            if let kind, ListField(name: kind) == nil {
                throw ValidationError("--kind: \"\(kind)\" is not one of card, agreement, merchant, institution")
            }
        }

        /// The entries, each read as the list's kind; a bad one is named with its file and line.
        func parsed(_ engine: Engine) throws -> [ListEntry] {
            let existing = try engine.list(name)?.field
            let given = kind.flatMap(ListField.init(name:))
            if let existing, let given, existing != given {
                throw ValidationError("--kind: \(name) is a list of \(existing.name)s, not of \(given.name)s")
            }
            guard let field = existing ?? given else {
                throw ValidationError("the list \(name) does not exist yet: say what it holds with --kind card, agreement, merchant or institution")
            }
            let lines: [(text: String, place: String)]
            if let from {
                let text = try readText(from)
                lines = text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { number, line in
                    let entry = line.trimmingCharacters(in: .whitespacesAndNewlines)
                    return entry.isEmpty || entry.hasPrefix("#") ? nil : (entry, "\(from == "-" ? "standard input" : from):\(number + 1)")
                }
            } else {
                lines = entries.enumerated().map { ($1, "entry \($0 + 1)") }
            }
            guard !lines.isEmpty else { throw ValidationError("\(from ?? "the command line") holds no entries") }
            return try lines.map { line in
                do throws(HeadroomError) {
                    return try ListEntry.parse(line.text, as: field)
                } catch {
                    throw ValidationError("\(line.place): \(error.message)")
                }
            }
        }

        private func readText(_ path: String) throws -> String {
            if path == "-" { return String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) }
            do {
                return try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw ValidationError("\(path): cannot be read (\((error as NSError).localizedDescription))")
            }
        }
    }

    struct Add: OperatorCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add entries to a list (created when new): in force at the next payment.",
            discussion: "Example: echo 6222020200112233446 | headroom list add blocked-cards --kind card --from - --store DIR")

        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var list: Entries
        @OptionGroup var who: OperatorOption

        func execute() throws {
            let name = try who.resolved()
            let engine = try storeOptions.openEngine(rules: nil)
            let entries = try list.parsed(engine)
            let added = try engine.addToList(list.name, entries, by: name)
            print("\(list.name): \(added) added\(added < entries.count ? ", \(entries.count - added) already on it" : ""): in force for the next payment")
        }
    }

    struct Import: OperatorCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add every entry of a file (one per line; # starts a comment) in one change.",
            discussion: "Example: headroom list import blocked-merchants merchants.txt --kind merchant --store DIR")

        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: ArgumentHelp("The list's name.", valueName: "name")) var name: String
        @Argument(help: ArgumentHelp("The file, or - for standard input.", valueName: "file")) var file: String
        @Option(name: .long, help: ArgumentHelp("What the list holds (required for a new list).", valueName: "kind")) var kind: String?
        @OptionGroup var who: OperatorOption

        func validate() throws { try EntrySource(name: name, entries: [], from: file, kind: kind).validate() }

        func execute() throws {
            let entries = EntrySource(name: name, entries: [], from: file, kind: kind)
            try entries.validate()
            let operatorName = try who.resolved()
            let engine = try storeOptions.openEngine(rules: nil)
            let parsed = try entries.parsed(engine)
            let added = try engine.addToList(name, parsed, by: operatorName)
            print("\(name): \(added) of \(parsed.count) imported\(added < parsed.count ? " (\(parsed.count - added) already on it)" : ""): in force for the next payment")
        }
    }

    struct Remove: OperatorCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask to take entries off a list: they stay in force until another operator approves.",
            discussion: "Example: headroom list remove blocked-cards --from card.txt --store DIR")

        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var list: Entries
        @OptionGroup var who: OperatorOption

        func execute() throws {
            try list.each(storeOptions, who) { engine, entry, name in
                try engine.requestListRemoval(list.name, entry, by: name)
                print("\(list.name): removal of \(entry.display) requested by \(name); still in force until another operator runs headroom list approve-removal")
            }
        }
    }

    struct ApproveRemoval: OperatorCommand {
        static let configuration = CommandConfiguration(
            commandName: "approve-removal",
            abstract: "Approve another operator's request to take entries off a list (dual control).",
            discussion: "Example: headroom list approve-removal blocked-cards --from card.txt --store DIR")

        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var list: Entries
        @OptionGroup var who: OperatorOption

        func execute() throws {
            try list.each(storeOptions, who) { engine, entry, name in
                try engine.approveListRemoval(list.name, entry, by: name)
                print("\(list.name): \(entry.display) removed, approved by \(name)")
            }
        }
    }

    struct Show: OperatorCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one list's entries, or every list.",
            discussion: "Example: headroom list show blocked-cards --store DIR --format json")

        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: ArgumentHelp("The list (default: every list).", valueName: "name")) var name: String?
        @OptionGroup var format: FormatOption

        func execute() throws {
            let engine = try storeOptions.openReading()
            let lists: [ListSummary]
            if let name {
                guard let list = try engine.list(name) else { throw HeadroomError(.unknownListEntry, "there is no list \(name)") }
                lists = [list]
            } else {
                lists = try engine.lists()
            }
            if format.format == .json {
                printJSON(lists.map { list -> [String: Any] in
                    ["name": list.name, "kind": list.field.name, "entries": list.entries.map { e -> [String: Any] in
                        ["entry": e.display, "added_by": e.addedBy, "added_at": Timestamp(unixSeconds: e.addedAt).chinaISO8601,
                         "removal_requested_by": e.removalRequestedBy ?? NSNull()]
                    }]
                })
                return
            }
            if lists.isEmpty { print("no lists") }
            for list in lists {
                print("\(list.name) (\(list.field.name)s): \(list.entries.count) entr\(list.entries.count == 1 ? "y" : "ies")")
                var table = Table(["entry", "added by", "added at", "removal"])
                for e in list.entries {
                    table.add([e.display, e.addedBy, Timestamp(unixSeconds: e.addedAt).chinaISO8601,
                               e.removalRequestedBy.map { "requested by \($0), awaiting approval" } ?? "-"])
                }
                if !list.entries.isEmpty { print(table.text) }
            }
        }
    }
}
