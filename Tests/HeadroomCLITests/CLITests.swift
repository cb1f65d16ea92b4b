import Foundation
import Testing

/// The built `headroom` binary: outputs, exit codes and messages.
@Suite struct CLITests {
    static let rules = CLI.repositoryRoot + "/Rules"

    func authorize(_ id: String, card: Int = 1, institution: String = "Z2007933000010", amount: String,
                   time: String = "2026-11-25T10:00:00+08:00", accountClass: String = "I") -> String {
        #"{"op":"authorize","id":"\#(id)","time":"\#(time)","card":"\#(pan(card))","institution":"\#(institution)","business":"agreement","amount":"\#(amount)","account_class":"\#(accountClass)"}"#
    }

    @Test func helpListsTheCommandsWithExamples() throws {
        let help = try CLI.run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("replay") && help.stdout.contains("card-limit") && help.stdout.contains("Examples:"))
        let replay = try CLI.run(["replay", "--help"])
        #expect(replay.stdout.contains("--store <dir>") && replay.stdout.contains("--rules <dir>"))
        #expect(replay.stdout.contains(#""op":"authorize""#))
        let set = try CLI.run(["card-limit", "set", "--help"])
        #expect(set.stdout.contains("--daily-amount <yuan>") && set.stdout.contains("--daily-count <n>"))
    }

    @Test func replayAnswersEveryLineInOrder() throws {
        let dir = try CLI.temporaryDirectory("replay")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = [
            authorize("T1", amount: "1234.56"),
            authorize("T1", amount: "1234.56"),
            authorize("T2", amount: "60000.00"),
            "",
            #"{"op":"confirm","id":"T1"}"#,
            #"{"op":"refund","id":"R1","original":"T1","amount":"34.56","time":"2026-11-26T09:00:00+08:00"}"#,
            #"{"op":"release","id":"T1"}"#,
            "{not json",
            authorize("T3", amount: "12.345"),
            authorize("T4", amount: "1.00").replacingOccurrences(of: #""amount":"1.00""#, with: #""amount":12.5"#),
        ].joined(separator: "\n") + "\n"
        let result = try CLI.run(["replay", "--store", dir + "/store", "--rules", Self.rules], input: input)
        #expect(result.status == 0, "\(result.stderr)")
        let out = result.lines.map(object)
        #expect(out.count == 9)
        #expect(out[0]["outcome"] as? String == "approve" && out[0]["code"] as? String == "approved")
        #expect(out[0]["rule_set"] as? Int == 1)
        let headroom = out[0]["headroom"] as? [String: Any]
        #expect((headroom?["bank"] as? [String: Any])?["count"] as? Int == 49)
        #expect((headroom?["bank"] as? [String: Any])?["amount"] as? String == "50000.00")
        #expect(headroom?["card"] is NSNull)
        #expect(out[1]["replayed"] as? Bool == true)
        #expect(out[2]["outcome"] as? String == "decline")
        #expect(out[2]["code"] as? String == "exceedsBankSingleAmount")
        #expect(out[2]["limit"] as? String == "bank.single" && out[2]["tier"] as? String == "bank")
        #expect(out[3]["code"] as? String == "confirmed")
        #expect(out[4]["code"] as? String == "refunded" && out[4]["refundable"] as? String == "1200.00")
        #expect(out[5]["code"] as? String == "alreadyConfirmed" && out[5]["outcome"] as? String == "error")
        #expect(out[6]["code"] as? String == "invalidInput" && out[6]["line"] as? Int == 8)
        #expect(out[7]["field"] as? String == "amount" && out[7]["id"] as? String == "T3")
        #expect((out[7]["message"] as? String)?.contains("more than 2 decimals") == true)
        #expect(out[8]["field"] as? String == "amount" && (out[8]["message"] as? String)?.contains("string") == true)
        #expect(result.stderr.contains("replayed 9 lines: 2 approved, 1 declined, 1 confirmed, 0 released, 1 refunded, 4 errors; 1 retries"))
        #expect(!result.stdout.contains(pan(1)) && !result.stderr.contains(pan(1)))
    }

    @Test func aNewStoreTakesRulesFromTheWorkingDirectory() throws {
        let dir = try CLI.temporaryDirectory("cwd")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try CLI.run(["replay", "--store", dir + "/store"], input: authorize("T1", amount: "1.00") + "\n", directory: CLI.repositoryRoot)
        #expect(result.status == 0 && result.stderr.contains("Rules/"))
        let again = try CLI.run(["replay", "--store", dir + "/store"], input: authorize("T2", amount: "1.00") + "\n", directory: dir)
        #expect(again.status == 0, "the store keeps its rule set: \(again.stderr)")
        let none = try CLI.run(["replay", "--store", dir + "/other"], input: "", directory: dir)
        #expect(none.status == 2 && none.stderr.contains("--rules"))
    }

    @Test func badRulesAreReportedWithFileLineAndField() throws {
        let dir = try CLI.temporaryDirectory("badrules")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "limits:\n  - id: a\n    tier: bank\n    window: weekly\n".write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        let result = try CLI.run(["replay", "--store", dir + "/store", "--rules", dir], input: "")
        #expect(result.status == 2)
        #expect(result.stderr.contains("\(dir)/bad.yaml:4: limits[0].window: \"weekly\" is not one of"))
        #expect(result.stderr.contains("card_tier"))
        let missing = try CLI.run(["replay", "--store", dir + "/store", "--rules", dir + "/nope"], input: "")
        #expect(missing.status == 2 && missing.stderr.contains("\(dir)/nope: no such directory"), "\(missing.stderr)")
    }

    @Test func cardLimitsSetGetClear() throws {
        let dir = try CLI.temporaryDirectory("cardlimit")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = dir + "/store"
        _ = try CLI.run(["replay", "--store", store, "--rules", Self.rules], input: "")
        let set = try CLI.run(["card-limit", "set", "--store", store, "--card", pan(7), "--daily-amount", "5000.00", "--daily-count", "10"], as: "alice")
        #expect(set.status == 0, "\(set.stderr)")
        #expect(set.stdout.contains("622848******") && set.stdout.contains("5,000.00") && !set.stdout.contains(pan(7)))
        let get = try CLI.run(["card-limit", "get", "--store", store, "--card", pan(7)])
        #expect(get.stdout.contains("daily amount    5,000.00") && get.stdout.contains("daily count     10"))
        let decline = try CLI.run(["replay", "--store", store], input: authorize("T1", card: 7, amount: "5000.01") + "\n")
        #expect(object(decline.lines.first ?? "")["code"] as? String == "exceedsCardDailyAmount")
        let above = try CLI.run(["card-limit", "set", "--store", store, "--card", pan(7), "--institution", "Z9", "--daily-amount", "30000.00"], as: "alice")
        #expect(above.status == 2)
        #expect(above.stderr.contains("institution.card-daily") && above.stderr.contains("20,000.00"))
        let clear = try CLI.run(["card-limit", "clear", "--store", store, "--card", pan(7)], as: "bob")
        #expect(clear.status == 0 && clear.stdout.contains("limits cleared"))
        let badCard = try CLI.run(["card-limit", "get", "--store", store, "--card", "1234"])
        #expect(badCard.status == 64 && badCard.stderr.contains("--card: a card number is 16 to 19 digits, not 4"))
        let luhn = try CLI.run(["card-limit", "get", "--store", store, "--card", "6228480000000000001"])
        #expect(luhn.status == 64 && luhn.stderr.contains("check digit") && !luhn.stderr.contains("6228480000000000001"))
        let nothing = try CLI.run(["card-limit", "set", "--store", store, "--card", pan(7)], as: "alice")
        #expect(nothing.status == 64 && nothing.stderr.contains("give at least one of"))
        let badAmount = try CLI.run(["card-limit", "set", "--store", store, "--card", pan(7), "--single-amount", "1,000"], as: "alice")
        #expect(badAmount.status == 64 && badAmount.stderr.contains("--single-amount"))
    }

    /// A card number can stay off the command line (shell history, /proc/PID/cmdline): from a
    /// file or standard input. One source only, one number only.
    @Test func cardNumbersFromAFileOrStandardInput() throws {
        let dir = try CLI.temporaryDirectory("cardfile")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = dir + "/store"
        // Confirmed: a reservation left authorized would have expired (1 hour) by the next writer's clock.
        _ = try CLI.run(["replay", "--store", store, "--rules", Self.rules],
                        input: authorize("T1", card: 7, amount: "12.00") + "\n" + #"{"op":"confirm","id":"T1"}"# + "\n")
        try (pan(7) + "\n").write(toFile: dir + "/card.txt", atomically: true, encoding: .utf8)
        let set = try CLI.run(["card-limit", "set", "--store", store, "--card-file", dir + "/card.txt", "--daily-amount", "500.00"], as: "alice")
        #expect(set.status == 0 && set.stdout.contains("622848******"), "\(set.stderr)")
        let get = try CLI.run(["card-limit", "get", "--store", store, "--card-file", "-"], input: pan(7) + "\n")
        #expect(get.status == 0 && get.stdout.contains("daily amount    500.00"), "\(get.stderr)")
        let usage = try CLI.run(["usage", "--card-file", "-", "--at", "2026-11-25T12:00:00+08:00", "--store", store], input: pan(7))
        #expect(usage.status == 0 && usage.stdout.contains("12.00 / 1"), "\(usage.stderr)")
        let both = try CLI.run(["usage", pan(7), "--card-file", "-", "--store", store], input: pan(7))
        #expect(both.status == 64 && both.stderr.contains("not both"))
        let none = try CLI.run(["card-limit", "get", "--store", store])
        #expect(none.status == 64 && none.stderr.contains("--card-file"))
        let two = try CLI.run(["card-limit", "get", "--store", store, "--card-file", "-"], input: pan(7) + "\n" + pan(8) + "\n")
        #expect(two.status == 64 && two.stderr.contains("holds 2 lines"))
        let bad = try CLI.run(["usage", "--card-file", "-", "--store", store], input: "6228480000000000001")
        #expect(bad.status == 64 && bad.stderr.contains("check digit") && !bad.stderr.contains("6228480000000000001"))
    }

    /// Input that could be read two ways is refused, saying which: two card keys at once, a key
    /// path that is a directory, an explain file of several payments.
    @Test func ambiguousInputIsRefused() throws {
        let dir = try CLI.temporaryDirectory("ambiguous")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = dir + "/store"
        #expect(try CLI.run(["replay", "--store", store, "--rules", Self.rules], input: "").status == 0)
        let keyFile = dir + "/card.key"
        try (CLI.cardKeyHex + "\n").write(toFile: keyFile, atomically: true, encoding: .utf8)
        chmod(keyFile, 0o600)
        let twoKeys = try CLI.run(["store", "stat", "--store", store, "--card-key-file", keyFile])
        #expect(twoKeys.status == 2 && twoKeys.stderr.contains("give one only"), "\(twoKeys.stderr)")
        let fileOnly = try CLI.run(["store", "stat", "--store", store, "--card-key-file", keyFile], environment: ["HEADROOM_CARD_KEY": ""])
        #expect(fileOnly.status == 0, "\(fileOnly.stderr)")
        let directory = try CLI.run(["store", "stat", "--store", store, "--card-key-file", dir], environment: ["HEADROOM_CARD_KEY": ""])
        #expect(directory.status == 2 && directory.stderr.contains("is a directory"), "\(directory.stderr)")
        let many = (1...11).map { authorize("E\($0)", amount: "1.00") }.joined(separator: "\n")
        let explain = try CLI.run(["explain", "-", "--store", store], input: many)
        #expect(explain.status == 64 && explain.stderr.contains("holds 11 lines"), "\(explain.stderr)")
    }

    @Test func theCardKeyFileIsCreatedPrivateAndCheckedOnUse() throws {
        let home = try CLI.temporaryDirectory("home")
        defer { try? FileManager.default.removeItem(atPath: home) }
        let env = ["HEADROOM_CARD_KEY": "", "HOME": home]
        let first = try CLI.run(["replay", "--store", home + "/store", "--rules", Self.rules], input: "", environment: env)
        #expect(first.status == 0, "\(first.stderr)")
        let keyFile = home + "/.config/headroom/card.key"
        #expect(first.stderr.contains("created a new card key in \(keyFile)"))
        var info = stat()
        #expect(stat(keyFile, &info) == 0 && info.st_mode & 0o777 == 0o600)
        let again = try CLI.run(["replay", "--store", home + "/store"], input: "", environment: env)
        #expect(again.status == 0 && !again.stderr.contains("created"))
        chmod(keyFile, 0o644)
        let open = try CLI.run(["replay", "--store", home + "/store"], input: "", environment: env)
        #expect(open.status == 2 && open.stderr.contains("readable by others"))
        chmod(keyFile, 0o600)
        let other = try CLI.run(["replay", "--store", home + "/store"], input: "", environment: ["HEADROOM_CARD_KEY": String(repeating: "11", count: 32)])
        #expect(other.status == 2 && other.stderr.contains("cardKeyMismatch"))
    }
}
