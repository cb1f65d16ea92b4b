import Foundation
import Testing

/// The rest of a payment's life as operators run it: reconcile, payment, report, expire; and
/// replay's clock, which makes a replayed day expire as it did live.
@Suite struct LifecycleCLITests {
    static let rules = CLI.repositoryRoot + "/Rules"

    func json(_ result: CLI.Result) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
    }

    /// A store from the example day and the afternoon's abandoned gateway order.
    func store(_ name: String) throws -> (root: String, store: String) {
        let root = try CLI.temporaryDirectory(name)
        let store = root + "/store"
        let example = try String(contentsOfFile: CLI.repositoryRoot + "/examples/payments.jsonl", encoding: .utf8)
        let afternoon = try String(contentsOfFile: CLI.repositoryRoot + "/examples/operating/afternoon.jsonl", encoding: .utf8)
        #expect(try CLI.run(["replay", "--store", store, "--rules", Self.rules], input: example + afternoon).status == 0)
        return (root, store)
    }

    @Test func aReconciliationFileIsAppliedOnceAndReported() throws {
        let (root, store) = try store("reconcile-cli")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let file = CLI.repositoryRoot + "/examples/operating/B202611250018.txt"
        let first = try CLI.run(["reconcile", file, "--store", store, "--format", "json"], as: "ops")
        #expect(first.status == 0, "\(first.stderr)")
        let report = try #require(json(first))
        let corrections = try #require(report["corrections"] as? [String: [String: Any]])
        #expect(corrections["recounted"]?["count"] as? Int == 2 && corrections["recounted"]?["amount"] as? String == "25680.00")
        #expect(corrections["givenBack"]?["count"] as? Int == 1 && corrections["unknownToBank"]?["count"] as? Int == 1)
        #expect(corrections["unchanged"]?["count"] as? Int == 3)
        #expect((report["over_limit"] as? [[String: Any]])?.first?["limit"] as? String == "institution.single")
        #expect((report["amount_corrected"] as? [[String: Any]])?.first?["bank_amount"] as? String == "1800.00")
        #expect(try CLI.run(["store", "check", "--store", store]).status == 0)

        // The same file again changes nothing; every line says so.
        let again = json(try CLI.run(["reconcile", file, "--store", store, "--format", "json"], as: "ops"))
        #expect((again?["corrections"] as? [String: [String: Any]])?["alreadyReconciled"]?["count"] as? Int == 7)
        // A contradicting line and a malformed one are refused with their numbers; exit 1.
        let bad = try CLI.run(["reconcile", CLI.repositoryRoot + "/examples/operating/B202611250019.txt", "--store", store], as: "ops")
        #expect(bad.status == 1 && bad.stdout.contains("line 1 (N202611250012): reconcileConflict")
                && bad.stdout.contains("line 2 (N202611250015): invalidInput batch:") && bad.stderr.contains("linesRefused"), "\(bad.stdout)")
        let audit = try CLI.run(["audit", "--store", store])
        #expect(audit.stdout.components(separatedBy: "reconcile.file").count == 4 && audit.stdout.contains("ops"))

        // One payment's history, and the day's figures.
        let payment = try CLI.run(["payment", "N202611250002", "--store", store, "--format", "json"])
        let history = (json(payment)?["history"] as? [[String: Any]])?.map { $0["event"] as? String }
        #expect(history == ["declined", "reconciled"] && json(payment)?["state"] as? String == "confirmed", "\(payment.stdout)")
        #expect(!payment.stdout.contains("6222020200112233446"))
        let day = json(try CLI.run(["report", "--day", "2026-11-25", "--store", store, "--format", "json"]))
        #expect((day?["outcome"] as? [String: [String: Any]])?["decline"]?["count"] as? Int == 2)
        #expect((day?["expired"] as? [String: Any])?["amount"] as? String == "680.00")
        #expect((day?["reconciliation"] as? [String: [String: Any]])?["unknownToBank"]?["amount"] as? String == "88.00")
        let empty = json(try CLI.run(["report", "--day", "2026-11-20", "--store", store, "--format", "json"]))
        #expect((empty?["outcome"] as? [String: Any])?.isEmpty == true)
    }

    /// Mistakes are said, with the field or the path, and change nothing.
    @Test func badArgumentsAreSaid() throws {
        let (root, store) = try store("lifecycle-bad")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let missing = try CLI.run(["reconcile", root + "/nofile.txt", "--store", store], as: "ops")
        #expect(missing.status == 64 && missing.stderr.contains("cannot read"))
        let typo = try CLI.run(["reconcile", CLI.repositoryRoot + "/examples/operating/B202611250018.txt", "--store", store + "x"], as: "ops")
        #expect(typo.status == 2 && typo.stderr.contains("noStore") && !FileManager.default.fileExists(atPath: store + "x"))
        let unknown = try CLI.run(["payment", "NOPE", "--store", store])
        #expect(unknown.status == 2 && unknown.stderr.contains("unknownPayment"))
        #expect(try CLI.run(["payment", "a b", "--store", store]).status == 64)
        let day = try CLI.run(["report", "--day", "2026-02-30", "--store", store])
        #expect(day.status == 64 && day.stderr.contains("--day"))
        let lines = "B202611250018|X1|2026-11-25T10:00:00+08:00|Z1|12.345|00\nonly|two\n"
        let malformed = json(try CLI.run(["reconcile", "-", "--store", store, "--format", "json"], input: lines, as: "ops"))
        let refused = malformed?["refused"] as? [[String: Any]]
        #expect(refused?.map { $0["line"] as? Int } == [1, 2] && refused?.first?["field"] as? String == "amount")
        #expect(refused?.last?["id"] is NSNull)
        // A file with CRLF line ends (as exported on Windows) reads the same, line numbers too.
        let crlf = "# comment\r\nB202611250018|N202611250001|2026-11-25T09:15:02+08:00|Z2007933000010|1234.56|00\r\n\r\nbad\r\n"
        let windows = json(try CLI.run(["reconcile", "-", "--store", store, "--format", "json"], input: crlf, as: "ops"))
        #expect(windows?["lines"] as? Int == 2 && (windows?["corrections"] as? [String: [String: Any]])?["unchanged"]?["count"] as? Int == 1)
        #expect((windows?["refused"] as? [[String: Any]])?.map { $0["line"] as? Int } == [4])
    }

    /// `expire` gives back what is due by the wall clock (the example day is long past).
    @Test func expireGivesBackWhatIsDue() throws {
        let root = try CLI.temporaryDirectory("expire-cli")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = root + "/store"
        let held = #"{"op":"authorize","id":"H1","time":"2026-11-25T10:00:00+08:00","card":"6222020200112233446","institution":"Z2007933000010","business":"gateway","amount":"10.00","account_class":"I","account_type":"corporate"}"#
        #expect(try CLI.run(["replay", "--store", store, "--rules", Self.rules], input: held + "\n").status == 0)
        let before = json(try CLI.run(["payment", "H1", "--store", store, "--format", "json"]))
        #expect(before?["state"] as? String == "authorized" && before?["held_until"] as? String == "2026-12-25T10:00:00+08:00")
        let expire = json(try CLI.run(["expire", "--store", store, "--format", "json"]))
        let due = Date() >= ISO8601DateFormatter().date(from: "2026-12-25T02:00:00Z")!
        #expect(expire?["expired"] as? Int == (due ? 1 : 0) && expire?["still_held"] as? Int == (due ? 0 : 1))
    }

    /// Replay's clock is the latest time read: an authorization not confirmed within its hold
    /// expires when a later line's time passes it, a late confirm answers `expired`, and the
    /// same input gives the same answers on a new store, line for line.
    @Test func aReplayedDayExpiresAsItDidLive() throws {
        let root = try CLI.temporaryDirectory("replay-clock")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let input = """
        {"op":"authorize","id":"G1","time":"2026-11-25T09:00:00+08:00","card":"6222020200112233446","institution":"Z2007933000010","business":"agreement","amount":"100.00","account_class":"I"}
        {"op":"authorize","id":"G2","time":"2026-11-25T09:30:00+08:00","card":"6222020200112233446","institution":"Z2007933000010","business":"agreement","amount":"100.00","account_class":"I"}
        {"op":"confirm","id":"G2","time":"2026-11-25T09:31:00+08:00"}
        {"op":"confirm","id":"G1","time":"2026-11-25T10:00:00+08:00"}
        {"op":"reconcile","id":"G1","batch":"B202611250010","status":"00","amount":"100.00","time":"2026-11-25T09:00:00+08:00","institution":"Z2007933000010"}
        {"op":"reconcile","id":"G1","batch":"B202611250010","status":"00","amount":"100.00","time":"2026-11-25T09:00:00+08:00","institution":"Z2007933000010"}

        """
        let first = try CLI.run(["replay", "--store", root + "/a", "--rules", Self.rules], input: input)
        #expect(first.status == 0)
        #expect(first.lines[2].contains(#""code":"confirmed""#))
        #expect(first.lines[3].contains(#""code":"expired""#), "\(first.lines[3])")
        #expect(first.lines[4] == #"{"id":"G1","op":"reconcile","outcome":"approve","code":"reconciled","correction":"recounted","state":"confirmed","amount":"100.00"}"#)
        #expect(first.lines[5].contains(#""correction":"alreadyReconciled""#))
        #expect(first.stderr.contains("2 reconciled"))
        let second = try CLI.run(["replay", "--store", root + "/b", "--rules", Self.rules], input: input)
        #expect(second.stdout == first.stdout)
        #expect(try CLI.run(["store", "check", "--store", root + "/a"]).status == 0)
    }
}
