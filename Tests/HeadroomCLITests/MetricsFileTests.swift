import Foundation
import Testing

/// `headroom replay --metrics-file`: the engine's figures in Prometheus' text format, as
/// node_exporter's textfile collector reads them; a path that cannot be written is refused
/// before anything is replayed.
@Suite struct MetricsFileTests {
    func authorize(_ id: String, card: Int, amount: String) -> String {
        #"{"op":"authorize","id":"\#(id)","time":"2026-11-25T10:00:00+08:00","card":"\#(pan(card))","institution":"Z2007933000010","business":"agreement","amount":"\#(amount)","account_class":"III"}"#
    }

    @Test(arguments: [1, 4]) func theFileCountsWhatTheReplayAnswered(callers: Int) throws {
        let dir = try CLI.temporaryDirectory("metrics")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Class III: 2,000.00 a day per card (the regulatory cap), so some are declined.
        let lines = (0..<40).map { authorize("M\($0)", card: $0 % 5, amount: "700.00") } + [#"{"op":"confirm","id":"nope"}"#]
        let file = dir + "/headroom.prom"
        var arguments = ["replay", "--store", dir + "/store", "--rules", CLI.repositoryRoot + "/Rules", "--metrics-file", file]
        if callers > 1 { arguments += ["--callers", "\(callers)"] }
        let run = try CLI.run(arguments, input: lines.joined(separator: "\n") + "\n")
        #expect(run.status == 0, "\(run.stderr)")
        let answers = run.stdout.split(separator: "\n").map { object(String($0)) }
        let approved = answers.filter { $0["outcome"] as? String == "approve" }.count
        let declined = answers.filter { $0["outcome"] as? String == "decline" }.count
        #expect(approved == 10 && declined == 30)
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(text.contains(#"headroom_authorizations_total{outcome="approve",code="approved",tier="none"} \#(approved)"#))
        #expect(text.contains(#"headroom_authorizations_total{outcome="decline",code="exceedsRegulatoryDailyAmount",tier="regulatory"} \#(declined)"#))
        #expect(text.contains(#"headroom_refusals_total{code="unknownPayment"} 1"#))
        #expect(text.contains("# TYPE headroom_answer_duration histogram"))
        #expect(text.contains(#"headroom_answer_duration_count{op="authorize"} 40"#))
        #expect(!text.contains(pan(0)) && !text.contains(pan(1)))
        // Rewritten by rename: no temporary file is left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["headroom.prom", "store"])
    }

    @Test func aPathThatCannotBeWrittenIsRefusedBeforeAnyPayment() throws {
        let dir = try CLI.temporaryDirectory("metrics-typo")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try CLI.run(["replay", "--store", dir + "/store", "--rules", CLI.repositoryRoot + "/Rules",
                               "--metrics-file", dir + "/no-such-dir/headroom.prom"], input: authorize("M1", card: 1, amount: "1.00") + "\n")
        #expect(run.status == 64)
        #expect(run.stderr.contains("--metrics-file \(dir)/no-such-dir/headroom.prom: cannot write it"))
        #expect(run.stderr.contains("No such file or directory"))
        #expect(run.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: dir + "/store"))
    }
}
