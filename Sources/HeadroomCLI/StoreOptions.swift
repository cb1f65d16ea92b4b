import ArgumentParser
import Foundation
import Headroom
import HeadroomRules
import Logging

/// Options every command that opens a store shares.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The store directory (created when missing only by commands that write).", valueName: "dir"))
    var store: String

    @Option(name: .long, help: ArgumentHelp("The card key file, when $HEADROOM_CARD_KEY is not set.", valueName: "path"))
    var cardKeyFile: String?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("The map size at open, in MiB; it doubles by itself when full.", valueName: "mib"))
    var mapSizeMib = 1024

    func validate() throws {
        if store.isEmpty { throw ValidationError("--store needs a directory") }
        guard (1...(1 << 20)).contains(mapSizeMib) else { throw ValidationError("--map-size-mib: 1 to 1048576, not \(mapSizeMib)") }
    }

    /// Opens the engine to write. `rules` names rule files to put in force; without it the
    /// store's rule set is used, or, for a new store, `Rules/` in the current directory. Only
    /// `creating` (replay, the main job) makes a new store; other changes refuse a path without
    /// one, as reads do.
    func openEngine(rules: String?, creating: Bool = false, options given: Engine.Options = .init()) throws -> Engine {
        let p = try opening(rules: rules, creating: creating, options: given)
        return try noRuleSetSaid { () throws(HeadroomError) in
            try Engine(path: store, cardKey: p.key, rules: p.sources, options: p.options, logger: p.logger)
        }
    }

    /// ``openEngine(rules:creating:options:)`` owned by a group committer from the start.
    func openCommitter(rules: String?, creating: Bool = false, options given: Engine.Options = .init(),
                       commit: GroupCommitter.Options) throws -> GroupCommitter {
        let p = try opening(rules: rules, creating: creating, options: given)
        return try noRuleSetSaid { () throws(HeadroomError) in
            try GroupCommitter(path: store, cardKey: p.key, rules: p.sources, engineOptions: p.options, options: commit, logger: p.logger)
        }
    }

    /// What opening the store for writing takes: its card key (created only for a new store),
    /// the rule files (Rules/ for a new store when none are given), the options, a logger.
    private func opening(rules: String?, creating: Bool, options given: Engine.Options) throws
        -> (key: CardKey, sources: [RuleSource]?, options: Engine.Options, logger: Logger) {
        if !creating { try Engine.requireStore(store) }
        var options = given
        options.mapSizeBytes = mapSizeMib << 20
        // A key is created only for a new store: an existing store needs the key it was made with.
        let (key, origin) = try CardKey.load(file: cardKeyFile, createIfMissing: !Self.storeHasRules(store))
        if case .created(let path) = origin {
            warn("created a new card key in \(path) (mode 0600); keep it safe and outside the store: without it the store's card counters cannot be used")
        }
        // The command says what matters itself; the engine's notices are for long-running hosts.
        var logger = Logger(label: "headroom")
        logger.logLevel = .warning
        let directory: String?
        if let rules {
            directory = rules
        } else if Self.storeHasRules(store) || !FileManager.default.fileExists(atPath: "Rules") {
            directory = nil
        } else {
            warn("new store: putting the rules in Rules/ in force")
            directory = "Rules"
        }
        let sources = try directory.map { (dir) throws(RuleErrors) in try RuleSource.read(directory: dir) }
        return (key, sources, options, logger)
    }

    private func noRuleSetSaid<T>(_ open: () throws(HeadroomError) -> T) throws(HeadroomError) -> T {
        do {
            return try open()
        } catch {
            guard error.code == .noRuleSet else { throw error }
            throw HeadroomError(.noRuleSet, "the new store \(store) has no rule set and there is no Rules/ here: give the rule files with replay --rules DIR")
        }
    }

    /// Opens an existing store for reading only: nothing is created (neither the store nor a
    /// card key), nothing written, no writer waited for; a path without a store is refused.
    /// What the journal holds that the store does not is said on standard error, unless the
    /// caller reports it itself (`noticingJournal: false`).
    func openReading(_ given: Engine.Options = .init(), noticingJournal: Bool = true) throws -> Engine {
        var options = given
        options.readOnly = true
        try Engine.requireStore(store)
        let (key, _) = try CardKey.load(file: cardKeyFile, createIfMissing: false)
        var logger = Logger(label: "headroom")
        logger.logLevel = .warning
        let engine = try Engine(path: store, cardKey: key, rules: nil, options: options, logger: logger)
        if noticingJournal, let notice = try engine.journalNotice() { warn(notice) }
        if let notice = try engine.writeBehindNotice() { warn(notice) }
        if engine.readsWithoutLock {
            warn("reading \(store) without its lock file (not writable by this account): if engines write meanwhile, figures may be inconsistent")
        }
        return engine
    }

    /// Whether the store directory already holds a store (which then has its rule set).
    static func storeHasRules(_ store: String) -> Bool {
        FileManager.default.fileExists(atPath: store + "/data.mdb")
    }
}

/// Options of the commands that administer a store without its card key.
struct StorePathOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The store directory.", valueName: "dir"))
    var store: String

    /// The store's rule book; `reading` opens it read-only (history, versions, the audit log).
    func ruleBook(reading: Bool = false) throws -> RuleBook {
        try RuleBook(path: store, readOnly: reading)
    }
}

/// Writes a line to standard error.
func warn(_ message: String) {
    FileHandle.standardError.write(Data(("headroom: " + message + "\n").utf8))
}

/// A command that operators run: what its ``execute()`` throws is said on standard error, in
/// words, and becomes its exit status (``fail(_:)``), in this one place.
protocol OperatorCommand: ParsableCommand {
    func execute() throws
}

extension OperatorCommand {
    func run() throws {
        do {
            try execute()
        } catch let exit as ExitCode {
            throw exit  // already said
        } catch {
            throw fail(error)
        }
    }
}

/// Turns the engine's and the rules' errors into a message and an exit code.
func fail(_ error: Error) -> ExitCode {
    switch error {
    case let e as HeadroomError:
        warn(e.description)
        return ExitStatus.of(e).code
    case let e as ValidationError:
        warn(e.message)
        return ExitStatus.badOptions.code
    case let e as RuleErrors:
        warn(e.description)
        return ExitStatus.refused.code
    default:
        warn(readable(error))
        return ExitStatus.refused.code
    }
}

/// An error from Foundation said in words, with the file it concerns ("NSCocoaErrorDomain
/// error 256" says neither).
func readable(_ error: Error) -> String {
    let ns = error as NSError
    let path = ns.userInfo[NSFilePathErrorKey] as? String ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
    return path.map { "\($0): \(fileErrorReason(error))" } ?? fileErrorReason(error)
}
