import Foundation
import Testing

/// `headroom list` as operators use it: bad input named by file and line with nothing added,
/// a block in force for the next payment, removal under dual control, every step audited.
@Suite struct ListCLITests {
    @Test func listsAsTheOperatorUsesThem() throws {
        let root = try CLI.temporaryDirectory("lists")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = root + "/store"
        let example = try String(contentsOfFile: CLI.repositoryRoot + "/examples/payments.jsonl", encoding: .utf8)
        #expect(try CLI.run(["replay", "--store", store, "--rules", CLI.repositoryRoot + "/Rules"], input: example).status == 0)

        // A bad line: named with its file and line; nothing added, the card never echoed.
        try "6222020200112233446\n# a comment\n\n6222020200112233447\n".write(toFile: root + "/cards.txt", atomically: true, encoding: .utf8)
        let bad = try CLI.run(["list", "import", "blocked-cards", root + "/cards.txt", "--kind", "card", "--store", store], as: "alice")
        #expect(bad.status == 64 && bad.stderr.contains("cards.txt:4: not a card number") && !bad.stderr.contains("6222020200112233447"), "\(bad.stderr)")
        #expect(try CLI.run(["list", "show", "blocked-cards", "--store", store]).stderr.contains("there is no list blocked-cards"))
        let missing = try CLI.run(["list", "import", "blocked-cards", root + "/nofile.txt", "--kind", "card", "--store", store], as: "alice")
        #expect(missing.status == 64 && missing.stderr.contains("nofile.txt: cannot be read"), "\(missing.stderr)")
        let kind = try CLI.run(["list", "import", "blocked-cards", root + "/cards.txt", "--kind", "cards", "--store", store], as: "alice")
        #expect(kind.status == 64 && kind.stderr.contains("--kind"))
        let noKind = try CLI.run(["list", "add", "blocked-cards", "--from", root + "/cards.txt", "--store", store], as: "alice")
        #expect(noKind.status == 64 && noKind.stderr.contains("does not exist yet"))

        // Added by one operator, in force for the next payment.
        let added = try CLI.run(["list", "add", "blocked-cards", "--kind", "card", "--from", "-", "--store", store],
                                input: "6222020200112233446\n", as: "alice")
        #expect(added.status == 0 && added.stdout.contains("1 added"), "\(added.stderr)")
        let payment = #"{"op":"authorize","id":"L1","time":"2026-11-25T23:00:00+08:00","card":"6222020200112233446","institution":"Z2007933000010","business":"agreement","amount":"1.00","account_class":"I"}"#
        let declined = try CLI.run(["replay", "--store", store], input: payment + "\n")
        #expect(declined.stdout.contains(#""code":"cardOnBlockList","rule":"risk.blocked-card""#), "\(declined.stdout)")
        let shown = try CLI.run(["list", "show", "--store", store, "--format", "json"])
        #expect(shown.stdout.contains("622202*********3446") && !shown.stdout.contains("6222020200112233446"))

        // Taken off by two: the asker cannot approve; the entry stays in force until another does.
        #expect(try CLI.run(["list", "remove", "blocked-cards", "6222020200112233446", "--store", store], as: "alice").status == 0)
        let same = try CLI.run(["list", "approve-removal", "blocked-cards", "6222020200112233446", "--store", store], as: "alice")
        #expect(same.status != 0 && same.stderr.contains("sameOperator"))
        #expect(try CLI.run(["list", "show", "blocked-cards", "--store", store]).stdout.contains("requested by alice, awaiting approval"))
        #expect(try CLI.run(["list", "approve-removal", "blocked-cards", "6222020200112233446", "--store", store], as: "bob").status == 0)
        #expect(try CLI.run(["list", "show", "blocked-cards", "--store", store]).stdout.contains("0 entries"))
        let audit = try CLI.run(["audit", "--store", store]).stdout
        for action in ["list.add", "list.remove", "list.approve-removal.refused", "list.approve-removal"] {
            #expect(audit.contains(action), "\(action) is not in the audit log")
        }
        #expect(!audit.contains("6222020200112233446"))
    }
}
