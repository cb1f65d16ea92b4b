import ArgumentParser
import Foundation
import Headroom
import HeadroomCore
import HeadroomRules

struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Validate, compare, propose, approve, activate and roll back rule sets (dual control).",
        discussion: """
        A change goes: validate -> diff -> propose (operator A) -> approve (operator B, not A) \
        -> activate (now or --at a time). A proposal can be withdrawn or rejected (reject), a \
        scheduled activation cancelled (cancel). Running engines take up the new version \
        between two payments. The operator is the account that runs the command (under sudo, \
        the account behind it); every step, and every refused attempt, is recorded with the \
        operator and the time.

        Examples:
          headroom rules validate Rules
          headroom rules diff Rules --store /var/lib/headroom
          headroom rules propose Rules --store /var/lib/headroom          # as alice
          headroom rules approve 2 --store /var/lib/headroom              # as bob
          headroom rules activate 2 --at 2026-12-01T00:00:00+08:00 --store /var/lib/headroom
        """,
        subcommands: [Validate.self, Diff.self, Propose.self, Approve.self, Reject.self, Activate.self, Cancel.self, Rollback.self, History.self, Show.self,
                      Shadow.self, ShadowReport.self]
    )

    struct Validate: OperatorCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check rule files; every problem at once, with file, line and field. Exit 0 only when clean.",
            discussion: """
            Warnings (files that are skipped, caps that can never bind because another limit \
            stops the same payments first) are printed and do not fail it.

            Example: headroom rules validate Rules
            """)

        @Argument(help: ArgumentHelp("The rule directory.", valueName: "dir")) var directory: String
        @OptionGroup var format: FormatOption

        func execute() throws {
            let loaded: Result<(RuleSet, [RuleSource]), RuleErrors> = Result { () throws(RuleErrors) in try RuleLoader.load(directory: directory) }
            switch loaded {
            case .success(let (rules, sources)):
                let warnings = RuleWarnings.skippedFiles(directory: directory) + RuleWarnings.missingHolds(rules, directory: directory)
                    + RuleWarnings.capsThatCannotBind(rules)
                if format.format == .json {
                    printJSON(["valid": true, "files": sources.count, "limits": rules.limits.count, "problems": [Any](),
                               "warnings": warnings.map(RulesCommand.problemJSON)])
                } else {
                    for warning in warnings { print("warning: \(warning)") }
                    print("\(directory): \(rules.limits.count) limits\(rules.risk.isEmpty ? "" : " and \(rules.risk.count) risk rules") in \(sources.count) files, no problems"
                          + (warnings.isEmpty ? "" : ", \(warnings.count) warning\(warnings.count == 1 ? "" : "s")"))
                }
            case .failure(let errors):
                report(errors)
                throw ExitStatus.problemsFound.code
            }
        }

        func report(_ errors: RuleErrors) {
            if format.format == .json {
                printJSON(["valid": false, "problems": errors.problems.map(RulesCommand.problemJSON)])
            } else {
                for problem in errors.problems { print(problem) }
                warn("\(errors.problems.count) problem\(errors.problems.count == 1 ? "" : "s") in \(directory)")
            }
        }
    }

    static func problemJSON(_ p: RuleProblem) -> [String: Any] {
        ["file": p.file, "line": p.line, "field": p.field, "message": p.message]
    }

    struct Diff: OperatorCommand {
        static let configuration = CommandConfiguration(
            abstract: "What a rule directory would change against the rule set in force, limit by limit.",
            discussion: "Example: headroom rules diff Rules --store /var/lib/headroom")

        @Argument(help: ArgumentHelp("The rule directory.", valueName: "dir")) var directory: String
        @OptionGroup var store: StorePathOption
        @OptionGroup var format: FormatOption

        func execute() throws {
            let book = try store.ruleBook(reading: true)
            guard let current = try book.currentVersion() else { throw HeadroomError(.noRuleSet, "the store has no rule set") }
            let (proposed, _) = try RuleLoader.load(directory: directory)
            printChanges(RuleSetDiff.changes(from: try book.ruleSet(current), to: proposed), against: current, format: format.format)
        }
    }

    struct Propose: OperatorCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store a rule directory as a new version, waiting for another operator's approval.",
            discussion: "The proposer is the account that runs the command.\nExample: headroom rules propose Rules --store /var/lib/headroom")

        @Argument(help: ArgumentHelp("The rule directory.", valueName: "dir")) var directory: String
        @OptionGroup var store: StorePathOption
        @OptionGroup var who: OperatorOption
        @OptionGroup var format: FormatOption

        func execute() throws {
            let name = try who.resolved()
            let book = try store.ruleBook()
            let sources = try RuleSource.read(directory: directory)
            let info = try book.propose(sources, by: name)
            let changes = try book.currentVersion().map { RuleSetDiff.changes(from: try book.ruleSet($0), to: try book.ruleSet(info.version)) } ?? []
            if format.format == .json {
                printJSON(["version": Int(info.version), "proposed_by": name, "changes": changes.map(\.text)])
            } else {
                print("proposed v\(info.version) by \(name); another operator must approve it (headroom rules approve \(info.version))")
                for change in changes { print("  \(change)") }
            }
        }
    }

    struct Approve: OperatorCommand {
        static let configuration = CommandConfiguration(
            abstract: "Approve a proposed version; the approver must be another account than its proposer.",
            discussion: "A refused attempt is recorded in the audit log.\nExample: headroom rules approve 2 --store /var/lib/headroom")

        @Argument(help: ArgumentHelp("The version.", valueName: "id")) var version: UInt32
        @OptionGroup var store: StorePathOption
        @OptionGroup var who: OperatorOption

        func execute() throws {
            let name = try who.resolved()
            let info = try store.ruleBook().approve(version, by: name)
            print("approved v\(info.version) by \(name) (proposed by \(info.proposedBy)); put it in force with headroom rules activate \(info.version)")
        }
    }

    struct Activate: OperatorCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put an approved version in force now, or at a time.",
            discussion: """
            Engines switch at their first payment at or after that time, never in the middle of \
            one. A time already past is refused. A new schedule replaces the one waiting.

            Example: headroom rules activate 2 --at 2026-12-01T00:00:00+08:00 --store /var/lib/headroom
            """)

        @Argument(help: ArgumentHelp("The version.", valueName: "id")) var version: UInt32
        @Option(help: ArgumentHelp("When, with its UTC offset (default: now).", valueName: "time")) var at: String?
        @OptionGroup var store: StorePathOption
        @OptionGroup var who: OperatorOption

        func validate() throws {
            if let at { _ = try parsedTime(at) }
        }

        func parsedTime(_ text: String) throws -> Int64 {
            do {
                return try Timestamp(iso8601: text).unixSeconds
            } catch {
                throw ValidationError("--at: \(error)")
            }
        }

        func execute() throws {
            let name = try who.resolved()
            let time = try at.map(parsedTime)
            switch try store.ruleBook().activate(version, at: time, by: name) {
            case .now: print("v\(version) is in force (by \(name))")
            case .scheduled(let when): print("v\(version) will be in force from \(chinaTime(when)) (scheduled by \(name))")
            }
        }
    }

    struct Reject: OperatorCommand {
        static let configuration = CommandConfiguration(
            abstract: "Withdraw (its proposer) or reject (another account) a version not in force.",
            discussion: """
            A withdrawn or rejected version can no longer be approved or activated. A scheduled \
            version is cancelled first (headroom rules cancel).

            Example: headroom rules reject 3 --reason "wrong institution code" --store /var/lib/headroom
            """)

        @Argument(help: ArgumentHelp("The version.", valueName: "id")) var version: UInt32
        @Option(help: ArgumentHelp("Why, for the record.", valueName: "text")) var reason: String?
        @OptionGroup var store: StorePathOption
        @OptionGroup var who: OperatorOption

        func execute() throws {
            let name = try who.resolved()
            let info = try store.ruleBook().reject(version, reason: reason, by: name)
            print("v\(version) \(name == info.proposedBy ? "withdrawn" : "rejected") by \(name)")
        }
    }

    struct Cancel: OperatorCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel the scheduled activation of a version.",
            discussion: "Example: headroom rules cancel --store /var/lib/headroom")

        @OptionGroup var store: StorePathOption
        @OptionGroup var who: OperatorOption

        func execute() throws {
            let name = try who.resolved()
            let cancelled = try store.ruleBook().cancelSchedule(by: name)
            print("the activation of v\(cancelled.version) at \(chinaTime(cancelled.at)) is cancelled (by \(name))")
        }
    }

    struct Shadow: OperatorCommand {
        static let configuration = CommandConfiguration(
            abstract: "Judge every authorization by an approved version too, beside the one in force, changing no live answer.",
            discussion: """
            Its own counters (for rules the set in force lacks) are fed by the live traffic. Read \
            what it would have changed with rules shadow-report; promote it with rules activate \
            (which ends the shadow) or drop it with --stop.
            Example: headroom rules shadow 3 --store /var/lib/headroom
            """)

        @Argument(help: ArgumentHelp("The approved version.", valueName: "id")) var version: UInt32?
        @Flag(name: .long, help: "End shadow mode.") var stop = false
        @OptionGroup var store: StorePathOption
        @OptionGroup var who: OperatorOption

        func validate() throws {
            if stop == (version != nil) { throw ValidationError("give the version to shadow, or --stop") }
        }

        func execute() throws {
            let name = try who.resolved()
            let book = try store.ruleBook()
            if stop {
                let stopped = try book.stopShadow(by: name)
                print(stopped.map { "v\($0) no longer judges beside the rule set in force (stopped by \(name))" } ?? "no version was shadowed")
                return
            }
            try book.shadow(version!, by: name)
            print("v\(version!) now judges every authorization beside the rule set in force, changing no answer (by \(name)); see headroom rules shadow-report")
        }
    }

    struct ShadowReport: OperatorCommand {
        static let configuration = CommandConfiguration(
            commandName: "shadow-report",
            abstract: "What the shadowed version would have decided differently, per rule, with sample ids.",
            discussion: "Example: headroom rules shadow-report --store /var/lib/headroom --format json")

        @Argument(help: ArgumentHelp("A version shadowed before (default: the one shadowed now).", valueName: "id")) var version: UInt32?
        @OptionGroup var store: StorePathOption
        @OptionGroup var format: FormatOption

        func execute() throws {
            guard let report = try store.ruleBook(reading: true).shadowReport(version) else {
                throw HeadroomError(.unknownRuleSet, "no version is shadowed: start one with headroom rules shadow ID")
            }
            if format.format == .json {
                printJSON(["version": Int(report.version), "judged": report.judged, "differences": report.differences.map {
                    ["rule": $0.rule, "live": $0.live.name, "shadow": $0.shadow.name, "payments": $0.count, "samples": $0.samples] as [String: Any]
                }] as [String: Any])
                return
            }
            let differing = report.differences.reduce(0) { $0 + $1.count }
            print("v\(report.version) judged \(report.judged) authorizations; \(differing) would have been answered differently")
            guard !report.differences.isEmpty else { return }
            var table = Table(["rule", "in force", "shadow", "payments", "samples"])
            for d in report.differences {
                table.add([d.rule, d.live.name, d.shadow.name, "\(d.count)", d.samples.joined(separator: ", ")])
            }
            print(table.text)
        }
    }

    struct Rollback: OperatorCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put back in force the version that was in force before the current one.",
            discussion: "Example: headroom rules rollback --store /var/lib/headroom")

        @OptionGroup var store: StorePathOption
        @OptionGroup var who: OperatorOption

        func execute() throws {
            let name = try who.resolved()
            let (from, to) = try store.ruleBook().rollback(by: name)
            print("v\(from) withdrawn; v\(to) is in force again (by \(name))")
        }
    }

    struct History: OperatorCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every version: who proposed, approved and activated it, and when.",
            discussion: "Example: headroom rules history --store /var/lib/headroom --format json")

        @OptionGroup var store: StorePathOption
        @OptionGroup var format: FormatOption

        func execute() throws {
            let book = try store.ruleBook(reading: true)
            let versions = try book.versions()
            let schedule = try book.schedule()
            if format.format == .json {
                printJSON(versions.map { info, status in
                    var o: [String: Any] = ["version": Int(info.version), "status": status.rawValue, "digest": info.digest,
                                            "files": info.files, "proposed_by": info.proposedBy, "proposed_at": chinaTime(info.proposedAt)]
                    o["approved_by"] = info.approvedBy ?? NSNull()
                    o["approved_at"] = info.approvedAt.map(chinaTime) ?? NSNull()
                    o["activated_by"] = info.activatedBy ?? NSNull()
                    o["activated_at"] = info.activatedAt.map(chinaTime) ?? NSNull()
                    if schedule?.version == info.version { o["scheduled_at"] = chinaTime(schedule?.at) }
                    return o
                })
                return
            }
            var table = Table(["version", "status", "proposed", "approved", "activated"])
            for (info, status) in versions {
                let state = status == .scheduled ? "scheduled for \(chinaTime(schedule?.at))" : status.rawValue
                table.add(["v\(info.version)", state, "\(info.proposedBy) \(chinaTime(info.proposedAt))",
                           info.approvedBy.map { "\($0) \(chinaTime(info.approvedAt))" } ?? "-",
                           info.activatedBy.map { "\($0) \(chinaTime(info.activatedAt))" } ?? "-"])
            }
            print(table.text)
        }
    }

    struct Show: OperatorCommand {
        static let configuration = CommandConfiguration(
            abstract: "The limits of a version (default: the one in force).",
            discussion: "Example: headroom rules show 2 --store /var/lib/headroom")

        @Argument(help: ArgumentHelp("The version (default: the one in force).", valueName: "id")) var version: UInt32?
        @OptionGroup var store: StorePathOption
        @OptionGroup var format: FormatOption
        @Flag(help: "Print the rule files as they were proposed.") var files = false

        func execute() throws {
            let book = try store.ruleBook(reading: true)
            guard let version = try version ?? book.currentVersion() else { throw HeadroomError(.noRuleSet, "the store has no rule set") }
            if files {
                for source in try book.sources(version) { print("# \(source.name)\n\(source.text)") }
                return
            }
            let rules = try book.ruleSet(version)
            if format.format == .json {
                printJSON(["version": Int(version), "limits": rules.limits.map(limitJSON),
                           "card_tier": ["applies_to": RuleSetDiff.describe(rules.cardTier.filter), "refund_restores": rules.cardTier.refundRestores],
                           "holds": rules.holds.map { holds in
                               Dictionary(uniqueKeysWithValues: holds.businesses.map { business in
                                   (business.name, ["personal": holds.seconds(for: business, accountType: .personal).map(HoldTimes.text) ?? "none",
                                                    "corporate": holds.seconds(for: business, accountType: .corporate).map(HoldTimes.text) ?? "none"])
                               }) as Any
                           } ?? NSNull()] as [String: Any])
                return
            }
            print("rule set v\(version)")
            var table = Table(["limit", "tier", "scope", "applies to", "caps"])
            for limit in rules.limits {
                table.add([limit.id, limit.tier.name, RuleSetDiff.scope(limit), RuleSetDiff.describe(limit.filter), caps(limit)])
            }
            print(table.text)
            print("card tier counts: \(RuleSetDiff.describe(rules.cardTier.filter)); refunds restore: \(rules.cardTier.refundRestores)")
            print("hold times: \(rules.holds.map(\.description) ?? "none (reservations hold until confirmed or released)")")
        }

        func caps(_ limit: Limit) -> String {
            RuleSetDiff.capParts(limit).joined(separator: "; ")
        }

        func limitJSON(_ limit: Limit) -> [String: Any] {
            var o: [String: Any] = ["id": limit.id, "tier": limit.tier.name, "window": "\(limit.window)",
                                    "applies_to": RuleSetDiff.describe(limit.filter), "refund_restores": limit.refundRestores]
            o["group"] = limit.window == .single ? NSNull() : limit.grouping.name
            o["amount_max"] = limit.caps.amountFenMax.map(Amount.plain) ?? NSNull()
            o["count_max"] = limit.caps.countMax.map { Int($0) } ?? NSNull()
            o["per_institution"] = Dictionary(uniqueKeysWithValues: limit.institutionCaps.map { institution, caps in
                (institution.code, ["amount_max": caps.amountFenMax.map(Amount.plain) ?? NSNull(), "count_max": caps.countMax.map { Int($0) } ?? NSNull()] as [String: Any])
            })
            return o
        }
    }
}

func printChanges(_ changes: [RuleChange], against version: UInt32, format: OutputFormat) {
    if format == .json {
        printJSON(["against": Int(version), "changes": changes.map { ["limit": $0.subject, "change": $0.text] }])
    } else if changes.isEmpty {
        print("no change against v\(version)")
    } else {
        print("\(changes.count) change\(changes.count == 1 ? "" : "s") against v\(version):")
        for change in changes { print("  \(change)") }
    }
}
