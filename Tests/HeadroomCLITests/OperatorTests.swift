import Foundation
import Testing

/// The operator's commands, run as the built binary: outputs, exit codes, refusals.
@Suite(.serialized) struct OperatorTests {
    static let rules = CLI.repositoryRoot + "/Rules"

    /// A store with the shipped rules and the example payments, and a proposed rule directory
    /// that lowers Z2007933000010's per-card daily amount to 30,000.00.
    func fixture(_ name: String) throws -> (root: String, store: String, proposed: String) {
        let root = try CLI.temporaryDirectory(name)
        let store = root + "/store"
        let example = try String(contentsOfFile: CLI.repositoryRoot + "/examples/payments.jsonl", encoding: .utf8)
        let replay = try CLI.run(["replay", "--store", store, "--rules", Self.rules], input: example)
        #expect(replay.status == 0, "\(replay.stderr)")
        let proposed = root + "/proposed"
        try FileManager.default.copyItem(atPath: Self.rules, toPath: proposed)
        let file = proposed + "/institution.yaml"
        let text = try String(contentsOfFile: file, encoding: .utf8)
        try text.replacingOccurrences(of: "amount_max: 50000.00", with: "amount_max: 30000.00").write(toFile: file, atomically: true, encoding: .utf8)
        return (root, store, proposed)
    }

    func json(_ result: CLI.Result) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
    }

    @Test func validateReportsEveryProblemAndExitsNonZero() throws {
        let clean = try CLI.run(["rules", "validate", Self.rules])
        #expect(clean.status == 0 && clean.stdout.contains("9 limits and 4 risk rules in 6 files, no problems"))
        let dir = try CLI.temporaryDirectory("validate")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "limits:\n  - id: a.b\n    tier: bank\n    window: weekly\n    amount_max: 1,000\n".write(toFile: dir + "/x.yaml", atomically: true, encoding: .utf8)
        let dirty = try CLI.run(["rules", "validate", dir])
        #expect(dirty.status == 1)
        #expect(dirty.stdout.contains("\(dir)/x.yaml:4: limits[0].window: \"weekly\" is not one of"))
        #expect(dirty.stdout.contains("\(dir)/x.yaml:5: limits[0].amount_max: \"1,000\" is not a decimal amount"))
        #expect(dirty.stdout.contains("card_tier") && dirty.stderr.contains("problems in"))
        let asJSON = try CLI.run(["rules", "validate", dir, "--format", "json"])
        let o = json(asJSON) as? [String: Any]
        #expect(asJSON.status == 1 && o?["valid"] as? Bool == false)
        #expect(((o?["problems"] as? [[String: Any]])?.count ?? 0) >= 4)
    }

    @Test(.enabled(if: CLI.canActAsOperators, "acting as two operators needs root (sudo's account)"))
    func aRuleChangeGoesThroughTwoOperators() throws {
        let (root, store, proposed) = try fixture("dual")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let diff = try CLI.run(["rules", "diff", proposed, "--store", store])
        #expect(diff.stdout.contains("institution.card-daily (card+institution, daily) for Z2007933000010: amount 50,000.00 -> 30,000.00"))
        // A typed name is not an operator: the account is.
        let typed = try CLI.run(["rules", "propose", proposed, "--store", store, "--operator", "bob"], as: "alice")
        #expect(typed.status == 64 && typed.stderr.contains("the account that runs the command (here alice)"), "\(typed.stderr)")
        let propose = try CLI.run(["rules", "propose", proposed, "--store", store], as: "alice")
        #expect(propose.status == 0 && propose.stdout.contains("proposed v2 by alice"))
        let own = try CLI.run(["rules", "approve", "2", "--store", store], as: "alice")
        #expect(own.status == 2 && own.stderr.contains("alice proposed v2 and cannot approve it"))
        let early = try CLI.run(["rules", "activate", "2", "--store", store], as: "bob")
        #expect(early.status == 2 && early.stderr.contains("not approved"))
        let approve = try CLI.run(["rules", "approve", "2", "--store", store], as: "bob")
        #expect(approve.status == 0 && approve.stdout.contains("approved v2 by bob"))
        let later = try CLI.run(["rules", "activate", "2", "--at", "2099-01-01T00:00:00+08:00", "--store", store], as: "bob")
        #expect(later.status == 0 && later.stdout.contains("will be in force from 2099-01-01T00:00:00+08:00"))
        let badTime = try CLI.run(["rules", "activate", "2", "--at", "tomorrow", "--store", store], as: "bob")
        #expect(badTime.status == 64 && badTime.stderr.contains("--at"))
        var history = json(try CLI.run(["rules", "history", "--store", store, "--format", "json"])) as? [[String: Any]]
        #expect(history?.map { $0["status"] as? String } == ["active", "scheduled"])
        #expect(history?.last?["proposed_by"] as? String == "alice" && history?.last?["approved_by"] as? String == "bob")
        #expect(try CLI.run(["rules", "activate", "2", "--store", store], as: "bob").status == 0)
        // Decisions now carry v2 and its lower cap.
        let pay = #"{"op":"authorize","id":"X1","time":"2026-11-25T15:00:00+08:00","card":"\#(pan(5))","institution":"Z2007933000010","business":"agreement","amount":"15000.00","account_class":"I"}"#
        let pay2 = pay.replacingOccurrences(of: "X1", with: "X2").replacingOccurrences(of: "15:00", with: "15:01")
        let replay = try CLI.run(["replay", "--store", store], input: pay + "\n" + pay2 + "\n" + pay2.replacingOccurrences(of: "X2", with: "X3") + "\n")
        #expect(replay.lines.map { object($0)["rule_set"] as? Int } == [2, 2, 2])
        #expect(object(replay.lines[2])["limit"] as? String == "institution.card-daily")
        let show = json(try CLI.run(["rules", "show", "--store", store, "--format", "json"])) as? [String: Any]
        #expect(show?["version"] as? Int == 2)
        let table = try CLI.run(["rules", "show", "1", "--store", store])
        #expect(table.stdout.contains("rule set v1") && table.stdout.contains("Z2007933000010: amount 50,000.00"))
        let files = try CLI.run(["rules", "show", "2", "--files", "--store", store])
        #expect(files.stdout.contains("amount_max: 30000.00"))
        let rollback = try CLI.run(["rules", "rollback", "--store", store], as: "carol")
        #expect(rollback.status == 0 && rollback.stdout.contains("v1 is in force again"))
        history = json(try CLI.run(["rules", "history", "--store", store, "--format", "json"])) as? [[String: Any]]
        #expect(history?.map { $0["status"] as? String } == ["active", "retired"])
        let audit = json(try CLI.run(["audit", "--store", store, "--format", "json"])) as? [[String: Any]]
        // Refused attempts are on record too.
        #expect(audit?.compactMap { $0["operator"] as? String } == ["bootstrap", "alice", "alice", "bob", "bob", "bob", "bob", "carol"])
        #expect(audit?.compactMap { $0["action"] as? String } == ["rules.bootstrap", "rules.propose", "rules.approve.refused", "rules.activate.refused",
                                                                 "rules.approve", "rules.schedule", "rules.activate", "rules.rollback"])
        // Reopening the store with other rule files does not bypass any of this.
        let bypass = try CLI.run(["replay", "--store", store, "--rules", proposed], input: "")
        #expect(bypass.status == 2 && bypass.stderr.contains("rulesNotInForce"))
    }

    /// What a checker needs besides approving: the proposer withdraws, another account rejects,
    /// a scheduled activation is cancelled, an activation in the past is refused; each on record,
    /// refusals included.
    @Test(.enabled(if: CLI.canActAsOperators, "acting as several operators needs root (sudo's account)"))
    func proposalsCanBeWithdrawnRejectedAndSchedulesCancelled() throws {
        let (root, store, proposed) = try fixture("checker")
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(try CLI.run(["rules", "propose", proposed, "--store", store], as: "alice").status == 0)
        let withdraw = try CLI.run(["rules", "reject", "2", "--reason", "typo in the cap", "--store", store], as: "alice")
        #expect(withdraw.status == 0 && withdraw.stdout.contains("v2 withdrawn by alice"), "\(withdraw.stderr)")
        let lateApproval = try CLI.run(["rules", "approve", "2", "--store", store], as: "bob")
        #expect(lateApproval.status == 2 && lateApproval.stderr.contains("ruleSetRejected"))
        // Proposed again (v3): bob rejects it.
        try "# again\n".write(toFile: proposed + "/note.yaml", atomically: true, encoding: .utf8)
        #expect(try CLI.run(["rules", "propose", proposed, "--store", store], as: "alice").status == 0)
        let reject = try CLI.run(["rules", "reject", "3", "--store", store], as: "bob")
        #expect(reject.status == 0 && reject.stdout.contains("v3 rejected by bob"))
        // v4: approved, scheduled, then the schedule cancelled; an activation in the past refused.
        try "# once more\n".write(toFile: proposed + "/note.yaml", atomically: true, encoding: .utf8)
        #expect(try CLI.run(["rules", "propose", proposed, "--store", store], as: "alice").status == 0)
        #expect(try CLI.run(["rules", "approve", "4", "--store", store], as: "bob").status == 0)
        let past = try CLI.run(["rules", "activate", "4", "--at", "2020-01-01T00:00:00+08:00", "--store", store], as: "bob")
        #expect(past.status == 2 && past.stderr.contains("already past"), "\(past.stderr)")
        #expect(try CLI.run(["rules", "activate", "4", "--at", "2099-01-01T00:00:00+08:00", "--store", store], as: "bob").status == 0)
        let busy = try CLI.run(["rules", "reject", "4", "--store", store], as: "carol")
        #expect(busy.status == 2 && busy.stderr.contains("cancel the schedule first"))
        let cancel = try CLI.run(["rules", "cancel", "--store", store], as: "carol")
        #expect(cancel.status == 0 && cancel.stdout.contains("the activation of v4 at 2099-01-01T00:00:00+08:00 is cancelled (by carol)"))
        #expect(try CLI.run(["rules", "cancel", "--store", store], as: "carol").status == 2)
        let history = json(try CLI.run(["rules", "history", "--store", store, "--format", "json"])) as? [[String: Any]]
        #expect(history?.map { $0["status"] as? String } == ["active", "rejected", "rejected", "approved"])
        let actions = (json(try CLI.run(["audit", "--store", store, "--format", "json"])) as? [[String: Any]])?.compactMap { $0["action"] as? String }
        #expect(actions == ["rules.bootstrap", "rules.propose", "rules.withdraw", "rules.approve.refused", "rules.propose", "rules.reject",
                            "rules.propose", "rules.approve", "rules.activate.refused", "rules.schedule", "rules.reject.refused", "rules.cancel"])
    }

    @Test func usageExplainAndDryRunChangeNothing() throws {
        let (root, store, proposed) = try fixture("usage")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let card = "6222020200112233446"
        let usageArgs = ["usage", card, "--institution", "Z2007933000010", "--at", "2026-11-25T12:00:00+08:00", "--store", store, "--format", "json"]
        let before = try CLI.run(usageArgs)
        let limits = (json(before) as? [String: Any])?["limits"] as? [[String: Any]] ?? []
        let daily = limits.first { $0["limit"] as? String == "bank.card-daily" }
        #expect(daily?["used_amount"] as? String == "1234.56" && daily?["used_count"] as? Int == 1)
        #expect(daily?["amount_left"] as? String == "198765.44" && daily?["count_left"] as? Int == 49)
        let text = try CLI.run(Array(usageArgs.dropLast(2)))
        #expect(text.stdout.contains("622202*********3446") && !text.stdout.contains(card))
        #expect(text.stdout.contains("198,765.44, 49 payments"))
        let wide = try CLI.run(["usage", card, "--at", "2026-11-25T12:00:00+08:00", "--store", store])
        #expect(!wide.stdout.contains("institution.card-daily") && wide.stdout.contains("bank.card-monthly"))
        let bad = try CLI.run(["usage", card, "--account-class", "IV", "--store", store])
        #expect(bad.status == 64 && bad.stderr.contains("--account-class"))

        let payment = #"{"op":"authorize","id":"E1","time":"2026-11-25T13:00:00+08:00","card":"\#(card)","institution":"Z2007933000010","business":"agreement","amount":"49000.00","account_class":"I"}"#
        let explain = try CLI.run(["explain", "-", "--store", store, "--format", "json"], input: payment)
        let e = json(explain) as? [String: Any]
        #expect(e?["outcome"] as? String == "decline" && e?["code"] as? String == "exceedsInstitutionSingleAmount")
        #expect(e?["limit"] as? String == "institution.single" && e?["on_record"] is NSNull)
        let table = try CLI.run(["explain", "-", "--store", store], input: payment)
        #expect(table.stdout.contains("would decline: exceedsInstitutionSingleAmount by institution.single"))
        let refused = try CLI.run(["explain", "-", "--store", store], input: #"{"op":"confirm","id":"E1"}"#)
        #expect(refused.status == 64 && refused.stderr.contains("authorize line"))

        // A backtest of the proposed rules over a day of payments: decided, then thrown away.
        let day = (0..<6).map { i in
            payment.replacingOccurrences(of: "E1", with: "D\(i)").replacingOccurrences(of: "49000.00", with: "9000.00")
        }.joined(separator: "\n") + "\n"
        let dry = try CLI.run(["replay", "--store", store, "--dry-run", "--rules", proposed], input: day)
        #expect(dry.status == 0 && dry.stderr.contains("dry run: nothing was changed"))
        #expect(dry.lines.map { object($0)["outcome"] as? String } == ["approve", "approve", "approve", "decline", "decline", "decline"])
        #expect(object(dry.lines[3])["limit"] as? String == "institution.card-daily")
        let after = try CLI.run(usageArgs)
        #expect(after.stdout == before.stdout)
        #expect(try CLI.run(["rules", "history", "--store", store, "--format", "json"]).stdout.contains("\"version\" : 2") == false)
    }

    @Test func storeStatBackupCheckPurge() throws {
        let (root, store, _) = try fixture("store")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let stat = json(try CLI.run(["store", "stat", "--store", store, "--format", "json"])) as? [String: Any]
        #expect(stat?["records"] as? Int == 6 && stat?["rule_set"] as? Int == 1 && stat?["purged_before"] is NSNull)
        #expect((stat?["used_bytes"] as? Int ?? 0) > 0 && stat?["map_size_bytes"] as? Int == 1 << 30)
        let backup = try CLI.run(["store", "backup", root + "/copy", "--store", store])
        #expect(backup.status == 0 && backup.stdout.contains("the card key is not in it"))
        let mode = try FileManager.default.attributesOfItem(atPath: root + "/copy/data.mdb")[.posixPermissions] as? Int
        #expect(mode == 0o600, "a backup is as private as the store")
        let again = try CLI.run(["store", "backup", root + "/copy", "--store", store])
        #expect(again.status == 3 && again.stderr.contains("already holds a store"))
        let check = try CLI.run(["store", "check", "--store", root + "/copy"])
        #expect(check.status == 0 && check.stdout.contains("6 records, 2 holding limit") && check.stdout.contains("every counter equals"))
        let checkJSON = json(try CLI.run(["store", "check", "--store", store, "--format", "json"])) as? [String: Any]
        #expect(checkJSON?["sound"] as? Bool == true)
        let typed = try CLI.run(["store", "purge", "--store", store, "--operator", "ops"])
        #expect(typed.status == 64 && typed.stderr.contains("the account that runs the command"))
        let shortRetention = try CLI.run(["store", "purge", "--store", store, "--retain-days", "7"], as: "ops")
        #expect(shortRetention.status == 64 && shortRetention.stderr.contains("at least 31"))
        // The example payments are a week old: nothing has closed long enough to go.
        let recent = try CLI.run(["store", "purge", "--store", store, "--retain-days", "31"], as: "ops")
        #expect(recent.status == 0 && recent.stdout.contains(": 0 counter cells, 0 records"))
        let kept = json(try CLI.run(["store", "stat", "--store", store, "--format", "json"])) as? [String: Any]
        #expect(kept?["records"] as? Int == 6 && kept?["counter_cells"] as? Int == 15)
    }

    /// The same example payments three years older, and one reservation never confirmed nor
    /// released under a rule set without hold times (so it never expires): a purge counting
    /// from a day to come is refused; a dry run changes nothing; the purge removes every closed
    /// window and record but the reservation, which holds limit.
    @Test func purgeRefusesAFutureDayKeepsReservationsAndHasADryRun() throws {
        let (root, store, _) = try fixture("purge-safe")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let future = try CLI.run(["store", "purge", "--store", store, "--today", "2099-01-01"], as: "ops")
        #expect(future.status == 2 && future.stderr.contains("is after today"), "\(future.stderr)")
        let check = try CLI.run(["store", "check", "--store", store])
        #expect(check.status == 0 && check.stdout.contains("6 records, 2 holding limit"))

        let old = root + "/old"
        let example = try String(contentsOfFile: CLI.repositoryRoot + "/examples/payments.jsonl", encoding: .utf8)
            .replacingOccurrences(of: "2026-11-2", with: "2023-11-2")
        let held = #"{"op":"authorize","id":"HELD1","time":"2023-11-25T10:00:00+08:00","card":"6222020200112233446","institution":"Z2007933000010","business":"agreement","amount":"10.00","account_class":"I"}"#
        let withoutHolds = root + "/rules-without-holds"
        try FileManager.default.copyItem(atPath: Self.rules, toPath: withoutHolds)
        try FileManager.default.removeItem(atPath: withoutHolds + "/holds.yaml")
        try FileManager.default.removeItem(atPath: withoutHolds + "/risk.yaml")  // its challenges need a challenge hold
        let replay = try CLI.run(["replay", "--store", old, "--rules", withoutHolds], input: example + held + "\n")
        #expect(replay.status == 0, "\(replay.stderr)")
        let before = json(try CLI.run(["store", "stat", "--store", old, "--format", "json"])) as? [String: Any]
        #expect(before?["records"] as? Int == 7)
        let cells = before?["counter_cells"] as? Int ?? 0
        let dry = try CLI.run(["store", "purge", "--store", old, "--retain-days", "31", "--dry-run"], as: "ops")
        #expect(dry.status == 0 && dry.stdout.contains("would purge before") && dry.stdout.contains(": \(cells) counter cells, 6 records; 1 reservations still authorized are kept"), "\(dry.stdout)")
        #expect(dry.stdout.contains("nothing was removed"))
        let same = json(try CLI.run(["store", "stat", "--store", old, "--format", "json"])) as? [String: Any]
        #expect(same?["records"] as? Int == 7 && same?["counter_cells"] as? Int == cells && same?["purged_before"] is NSNull)
        let purge = try CLI.run(["store", "purge", "--store", old, "--retain-days", "31"], as: "ops")
        #expect(purge.status == 0 && purge.stdout.contains("purged before") && purge.stdout.contains(": \(cells) counter cells, 6 records"))
        let after = json(try CLI.run(["store", "stat", "--store", old, "--format", "json"])) as? [String: Any]
        #expect(after?["records"] as? Int == 1 && after?["counter_cells"] as? Int == 0)
        #expect(try CLI.run(["store", "check", "--store", old]).status == 0)
        let audit = try CLI.run(["audit", "--store", old])
        #expect(audit.stdout.components(separatedBy: "store.purge").count == 2)
    }

    /// A mistyped --store on a read command is refused (exit 2) and creates nothing: no store, no
    /// directory, no card key, also where a Rules/ directory would have been put in force.
    @Test func readCommandsNeverCreateAStore() throws {
        let root = try CLI.temporaryDirectory("typo")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let typo = root + "/stroe"
        let payment = #"{"op":"authorize","id":"E1","time":"2026-11-25T13:00:00+08:00","card":"6222020200112233446","institution":"Z2007933000010","business":"agreement","amount":"49.00","account_class":"I"}"#
        let reads: [[String]] = [["usage", "6222020200112233446"], ["explain", "-"], ["store", "stat"], ["store", "check"],
                                 ["card-limit", "get", "--card", "6222020200112233446"], ["store", "backup", root + "/copy"]]
        try FileManager.default.createDirectory(atPath: root + "/empty", withIntermediateDirectories: false)
        for command in reads {
            for store in [typo, root + "/empty"] {
                let r = try CLI.run(command + ["--store", store], input: payment, directory: CLI.repositoryRoot)
                #expect(r.status == 2 && r.stderr.contains("noStore") && r.stderr.contains(store), "\(command): \(r.stderr)")
            }
            #expect(!FileManager.default.fileExists(atPath: typo), "\(command) created \(typo)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/empty").isEmpty)
            #expect(!FileManager.default.fileExists(atPath: root + "/copy"))
        }
    }

    @Test func everyCommandHasHelpWithAnExampleAndCompletions() throws {
        let commands = [["replay"], ["rules", "validate"], ["rules", "diff"], ["rules", "propose"], ["rules", "approve"],
                        ["rules", "reject"], ["rules", "activate"], ["rules", "cancel"], ["rules", "rollback"], ["rules", "history"],
                        ["rules", "show"], ["card-limit", "set"], ["card-limit", "get"], ["card-limit", "clear"], ["usage"], ["explain"],
                        ["store", "stat"], ["store", "backup"], ["store", "check"], ["store", "purge"], ["store", "accept-journal-loss"],
                        ["audit"], ["list", "add"], ["list", "import"], ["list", "remove"], ["list", "approve-removal"], ["list", "show"], ["rules", "shadow"], ["rules", "shadow-report"]]
        for command in [[]] + commands {
            let name = (["headroom"] + command).joined(separator: " ")
            let help = try CLI.run(command + ["--help"])
            #expect(help.status == 0 && help.stdout.contains("xample"), "\(name) --help has no example")
            // Unwrapped, every line break left is one written in the source: a paragraph must not
            // be broken by one (the next line going on in lower case), and a line kept as written
            // (indented: examples, tables) must fit 80 columns, or help wraps it anywhere.
            let wide = try CLI.run(command + ["--help"], environment: ["COLUMNS": "10000"])
            let text = wide.stdout.components(separatedBy: "\nUSAGE:")[0].split(separator: "\n", omittingEmptySubsequences: false)
            for (line, next) in zip(text, text.dropFirst()) where !line.isEmpty && !line.hasPrefix(" ") && !next.hasPrefix(" ") {
                #expect(next.first?.isLowercase != true, "\(name) --help breaks a paragraph: \"\(line)\" / \"\(next)\"")
            }
            for line in text where line.hasPrefix(" ") {
                #expect(line.count <= 80, "\(name) --help: a line of \(line.count) columns: \(line)")
            }
        }
        let version = try CLI.run(["--version"])
        #expect(version.status == 0 && version.stdout.hasPrefix("0.14.0 (store schema 5, journal format 2)"))
        for shell in ["bash", "zsh", "fish"] {
            let script = try CLI.run(["--generate-completion-script", shell])
            #expect(script.status == 0 && script.stdout.contains("card-limit"), "\(shell)")
        }
    }

    @Test func progressShowsOnATerminalOnly() throws {
        let root = try CLI.temporaryDirectory("progress")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let lines = (0..<3000).map { i in
            #"{"op":"authorize","id":"P\#(i)","time":"2026-11-25T10:00:00+08:00","card":"\#(pan(i % 50))","institution":"Z1","business":"agreement","amount":"1.00","account_class":"I"}"#
        }.joined(separator: "\n") + "\n"
        try lines.write(toFile: root + "/in.jsonl", atomically: true, encoding: .utf8)
        let piped = try CLI.run(["replay", "--store", root + "/a", "--rules", Self.rules], input: lines)
        #expect(!piped.stderr.contains("lines replayed"))
        // `script` gives the command a terminal; its output lands in the typescript file.
        let command = "\(CLI.binary) replay --store \(root)/b --rules \(Self.rules) < \(root)/in.jsonl > /dev/null"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qec", command, root + "/typescript"]
        process.environment = CLI.environment([:])
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        let typescript = (try? String(contentsOfFile: root + "/typescript", encoding: .utf8)) ?? ""
        #expect(process.terminationStatus == 0)
        #expect(typescript.contains("lines replayed") && typescript.contains("replayed 3000 lines"))
    }
}
