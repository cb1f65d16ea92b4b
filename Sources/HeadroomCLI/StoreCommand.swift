import ArgumentParser
import Foundation
import Headroom
import HeadroomCore

struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Facts, backup, invariant check and purge of a store; safe while engines run.",
        subcommands: [Stat.self, Backup.self, Check.self, Purge.self, AcceptJournalLoss.self, Migrate.self]
    )

    struct Stat: OperatorCommand {
        static let configuration = CommandConfiguration(
            abstract: "Size, map, readers, records, counters, held reservations and the rule set in force.",
            discussion: "Example: headroom store stat --store /var/lib/headroom")

        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var format: FormatOption

        func execute() throws {
            let f = try storeOptions.openReading().facts()
            let purged = f.purgedBeforeDay.map { ChinaTime.dateString(day: $0) }
            if format.format == .json {
                printJSON(["path": f.path, "map_size_bytes": f.mapSizeBytes, "used_bytes": f.usedBytes, "page_size_bytes": f.pageSizeBytes,
                           "readers_used": f.readersUsed, "records": f.records, "counter_cells": f.counterCells,
                           "card_limits": f.cardLimits, "rule_set": Int(f.ruleSetVersion), "schema": Int(f.schemaVersion),
                           "purged_before": purged ?? NSNull(), "held_reservations": f.heldReservations,
                           "next_hold_end": f.nextHoldEnd.map { chinaTime($0) as Any } ?? NSNull()] as [String: Any])
                return
            }
            var table = Table(["fact", "value"])
            table.add(["store", f.path])
            table.add(["used", "\(mib(f.usedBytes)) of a \(mib(f.mapSizeBytes)) map (\(f.usedBytes * 100 / max(1, f.mapSizeBytes))%)"])
            table.add(["page size", "\(f.pageSizeBytes) bytes"])
            table.add(["readers", "\(f.readersUsed)"])
            table.add(["payment and refund records", "\(f.records)"])
            table.add(["counter cells", "\(f.counterCells)"])
            table.add(["customer card limits", "\(f.cardLimits)"])
            table.add(["held reservations", "\(f.heldReservations)" + (f.nextHoldEnd.map { ", the first hold ends \(chinaTime($0))" } ?? "")])
            table.add(["rule set in force", "v\(f.ruleSetVersion)"])
            table.add(["purged before", purged ?? "never purged"])
            table.add(["schema", "\(f.schemaVersion)"])
            print(table.text)
        }

        func mib(_ bytes: Int) -> String {
            bytes >= 1 << 20 ? "\(bytes >> 20) MiB" : "\(bytes >> 10) KiB"
        }
    }

    struct Backup: OperatorCommand {
        static let configuration = CommandConfiguration(
            abstract: "A consistent, compacted copy of the store into an empty directory, while engines run.",
            discussion: "The card key is not in the copy: keep it apart.\nExample: headroom store backup /backup/headroom-20261125 --store /var/lib/headroom")

        @Argument(help: ArgumentHelp("The directory to copy into (created; must hold no store).", valueName: "path")) var path: String
        @OptionGroup var storeOptions: StoreOptions

        func execute() throws {
            try storeOptions.openReading().backup(to: path)
            let size = (try? FileManager.default.attributesOfItem(atPath: path + "/data.mdb")[.size] as? Int) ?? 0
            print("backed up \(storeOptions.store) to \(path) (\(size) bytes); the card key is not in it")
        }
    }

    struct Check: OperatorCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify that every counter equals the reservations on record; exit 1 on any difference.",
            discussion: "Example: headroom store check --store /var/lib/headroom")

        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var format: FormatOption

        func execute() throws {
            var report: CheckReport
            let engine = try storeOptions.openReading(noticingJournal: false)
            report = try engine.check { progress("headroom: checked \($0) entries") }
            // What the journal holds and the store does not is a difference too.
            if let notice = try engine.journalNotice() { report.problems.append(notice) }
            endProgress()
            if format.format == .json {
                printJSON(["sound": report.problems.isEmpty, "records": report.records, "live_reservations": report.liveReservations,
                           "counter_cells": report.counterCells, "problems": report.problems] as [String: Any])
            } else {
                print("\(report.records) records, \(report.liveReservations) holding limit, \(report.counterCells) counter cells: "
                      + (report.problems.isEmpty ? "every counter equals its reservations" : "\(report.problems.count) differences"))
                for problem in report.problems { print("  \(problem)") }
            }
            if !report.problems.isEmpty { throw ExitStatus.problemsFound.code }
        }
    }

    struct Purge: OperatorCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove counter windows and records closed longer ago than the retention.",
            discussion: """
            Never removes a reservation still authorized (it holds limit), nor a record younger \
            than the retention (at least 31 days, past NetsUnion's retries and reconciliation). \
            --today cannot be after today. --dry-run says what would go and changes nothing.

            Example: headroom store purge --store /var/lib/headroom --retain-days 400 --dry-run
            """)

        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var who: OperatorOption
        @Option(parsing: .unconditional, help: ArgumentHelp("Days a closed window and its records are kept (at least 31).", valueName: "days")) var retainDays = 400
        @Option(help: ArgumentHelp("The day to count from, YYYY-MM-DD in UTC+8, not after today (default: today).", valueName: "date")) var today: String?
        @Flag(help: "Say what would be removed; change nothing.") var dryRun = false

        func validate() throws {
            guard retainDays >= 31 else { throw ValidationError("--retain-days: at least 31, not \(retainDays)") }
            _ = try day()
        }

        func day() throws -> Int32? {
            guard let today else { return nil }
            guard let day = ChinaTime.day(date: today) else {
                throw ValidationError("--today: \"\(today)\" is not a date like 2026-11-25")
            }
            return day
        }

        func execute() throws {
            let name = try who.resolved()
            let options = Engine.Options(recordRetentionDays: retainDays, readOnly: dryRun)
            let engine = dryRun ? try storeOptions.openReading(options) : try storeOptions.openEngine(rules: nil, options: options)
            progress("headroom: purging")
            let report = try engine.purge(today: try day() ?? Timestamp(unixSeconds: engine.options.clock()).chinaDay, by: name, dryRun: dryRun)
            endProgress()
            let verb = dryRun ? "would purge" : "purged"
            print("\(verb) before \(ChinaTime.dateString(day: report.horizonDay)): \(report.counterCellsRemoved) counter cells, \(report.recordsRemoved) records"
                  + (report.reservationsKept > 0 ? "; \(report.reservationsKept) reservations still authorized are kept" : ""))
            if dryRun { print("dry run: nothing was removed") }
        }
    }
}

extension StoreCommand {
    struct AcceptJournalLoss: OperatorCommand {
        static let configuration = CommandConfiguration(
            commandName: "accept-journal-loss",
            abstract: "Open a store whose journal was refused as damaged, on record, accepting the loss.",
            discussion: """
            Only after a refusal with journalDamaged, and after restoring the journal has \
            failed: the valid entries before the damage are applied, a copy of the journal is \
            kept beside it (journal.damaged-<unix seconds>), the journal is emptied, and the audit \
            log records who accepted what. Settle the payments of the lost entries from \
            NetsUnion's reconciliation files. Refused while a journal runs, or when the journal \
            is sound.

            Example: headroom store accept-journal-loss --store /var/lib/headroom
            """)

        @OptionGroup var store: StorePathOption
        @OptionGroup var who: OperatorOption

        func execute() throws {
            let report = try Engine.acceptJournalLoss(path: store.store, by: try who.resolved())
            print("accepted: \(report.entriesApplied) entries before the damage applied; the journal as it was is kept in \(report.copyPath)")
            print("what was lost: \(report.problem)")
        }
    }
}

extension StoreCommand {
    struct Migrate: OperatorCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bring a store written by Headroom 0.9 or 0.10 (schema 2 or 3) to this version's schema (4).",
            discussion: """
            Rewrites every payment record in the current layout, in one transaction (a crash \
            leaves the store as it was), and records it in the audit log. Back the store up \
            first (headroom store backup, with the older release). Stop every engine on the \
            store; a store whose journal still holds answers of the older release is refused: \
            open it once with that release, which applies them. Needs no card key.

            Example: headroom store migrate --store /var/lib/headroom
            """)

        @OptionGroup var store: StorePathOption
        @OptionGroup var who: OperatorOption

        func execute() throws {
            let report = try Engine.migrate(path: store.store, by: try who.resolved())
            print("migrated \(store.store) from schema \(report.fromSchema) to \(report.toSchema): \(report.recordsRewritten) payment and refund records rewritten")
        }
    }
}

struct Audit: OperatorCommand {
    static let configuration = CommandConfiguration(
        abstract: "Every change on record: rule sets, customer limits, purges; who and when.",
        discussion: "Example: headroom audit --store /var/lib/headroom --format json")

    @OptionGroup var store: StorePathOption
    @OptionGroup var format: FormatOption

    func execute() throws {
        let entries = try store.ruleBook(reading: true).auditLog()
        if format.format == .json {
            printJSON(entries.map { ["sequence": Int($0.sequence), "time": chinaTime($0.time), "operator": $0.operatorName,
                                     "action": $0.action, "detail": $0.detail] as [String: Any] })
            return
        }
        var table = Table(["#", "time", "operator", "action", "detail"])
        for e in entries { table.add(["\(e.sequence)", chinaTime(e.time), e.operatorName, e.action, e.detail]) }
        print(table.text)
    }
}
