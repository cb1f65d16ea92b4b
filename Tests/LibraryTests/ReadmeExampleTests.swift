import Foundation
import Headroom
import Testing

/// The README's examples, as written: this target depends on the `Headroom` library alone, so
/// `import Headroom` must be enough for them (DocsTests checks they are the README's text).
@Suite struct ReadmeExampleTests {
    static let rules = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Rules").path

    @Test func theEngineExampleRuns() throws {
        let store = FileManager.default.temporaryDirectory.appendingPathComponent("headroom-readme-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: store) }
        let key = try CardKey(hex: String(repeating: "2b", count: 32))
        let pan = "6222020200112233446"
        let rules = Self.rules
        do {
            // README: engine
            let engine = try Engine(path: store, cardKey: key, rules: try RuleSource.read(directory: rules))
            let result = try engine.authorize(PaymentRequest(
                id: try PaymentID("N202611250001"), time: try Timestamp(iso8601: "2026-11-25T09:15:02+08:00"),
                card: try CardNumber(pan), institution: try Institution("Z2007933000010"),
                business: .agreement, amount: try Amount(yuan: "1234.56"), accountClass: .classI))
            if result.decision.isApproved {
                // ... the core debit; then, when it succeeded:
                try engine.confirm(try PaymentID("N202611250001"))
            }
            // README: end
            #expect(try engine.state(of: try PaymentID("N202611250001")) == .confirmed)
        }
    }

    @Test func theCommitterExampleRuns() async throws {
        let store = FileManager.default.temporaryDirectory.appendingPathComponent("headroom-readme-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: store) }
        let key = try CardKey(hex: String(repeating: "2b", count: 32))
        _ = try Engine(path: store, cardKey: key, rules: try RuleSource.read(directory: Self.rules))  // a new store, closed again
        let request = PaymentRequest(
            id: try PaymentID("N202611250002"), time: try Timestamp(iso8601: "2026-11-25T09:16:00+08:00"),
            card: try CardNumber("6222020200112233446"), institution: try Institution("Z2007933000010"),
            business: .agreement, amount: try Amount(yuan: "10.00"), accountClass: .classI)
        // README: committer
        let committer = try GroupCommitter(path: store, cardKey: key, rules: nil)
        let answer = try await committer.authorize(request)     // durable when it returns
        let view = try committer.explain(request)               // a snapshot read; waits for no writer
        let engineBack = try committer.close()                  // answers what is waiting, then stops
        // README: end
        #expect(answer.decision.isApproved && !answer.replayed)
        #expect(view.decision.ruleSetVersion == 1 && view.decision.isApproved)
        #expect(try engineBack.check().problems.isEmpty && engineBack.state(of: request.id) == .authorized)
    }
}
