import Foundation
@testable import Headroom
import HeadroomCore
import HeadroomRules
import Logging
import MetricsTestKit
import Synchronization
import Testing

/// The engine's figures (swift-metrics) and log events: counted by outcome, reason code and
/// tier as the answers say, one batch-size and queue-depth record per batch, a sync and a
/// checkpoint recorded in journal mode, and nothing per payment above trace level, never a
/// card number, in the log.
@Suite struct TelemetryTests {
    typealias F = Fixture

    static let rules = [RuleSource(name: "t/limits.yaml", text: """
    limits:
      - {id: bank.card-daily, tier: bank, window: day, group: card, amount_max: 1000.00, count_max: 3,
         applies_to: {business: [agreement]}}
      - {id: inst.single, tier: institution, window: single, amount_max: 800.00, applies_to: {business: [agreement]}}
    card_tier: {applies_to: {business: [agreement]}}
    """)]

    /// Random payments through one engine, counted by hand from the answers, equal the
    /// counters the engine reported; refusals by code likewise; a timer per answer.
    @Test func decisionsAndRefusalsAreCountedAsAnswered() throws {
        let dir = try F.directory("telemetry")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let metrics = TestMetrics()
        let engine = try Engine(path: dir, cardKey: F.cardKey, rules: Self.rules,
                                options: .init(mapSizeBytes: 64 << 20, metrics: metrics))
        var random = SplitMix64(seed: 7)
        var expected: [String: Int64] = [:]
        var refusals: [String: Int64] = [:]
        var answers = 0
        var retries = 0
        var previous: PaymentRequest?
        for i in 0..<300 {
            let amount = String(format: "%d.%02d", Int(random.next() % 900) + 1, Int(random.next() % 100))
            var request = try F.request("P\(i % 280)", "2026-11-25T10:00:00+08:00", card: Int(random.next() % 20), amount: amount)
            // Now and then the front processor retries the last payment as it was: its first answer, not counted again.
            if let last = previous, random.next() % 10 == 0 { request = last }
            previous = request
            answers += 1
            do {
                let result = try engine.authorize(request)
                if result.replayed { retries += 1 }
                if !result.replayed {
                    let d = result.decision
                    let tier = d.decidedBy?.tier?.name ?? "none"
                    expected["\(d.outcome.name) \(d.code.name) \(tier)", default: 0] += 1
                }
            } catch {
                refusals[error.code.rawValue, default: 0] += 1
            }
            if random.next() % 4 == 0 {
                answers += 1
                let id = try PaymentID("P\(Int(random.next() % 300))")
                do { try engine.confirm(id) } catch { refusals[error.code.rawValue, default: 0] += 1 }
            }
        }
        #expect(expected.count >= 3, "approvals and declines of two tiers: \(expected)")
        #expect(retries > 0)
        #expect(refusals["idConflict"] ?? 0 > 0 && refusals["unknownPayment"] ?? 0 > 0, "\(refusals)")
        var reported: [String: Int64] = [:]
        for counter in metrics.counters(label: "headroom_authorizations_total") {
            let d = Dictionary(uniqueKeysWithValues: counter.dimensions)
            let total = counter.values.reduce(0, +)
            if total > 0 { reported["\(d["outcome"]!) \(d["code"]!) \(d["tier"]!)"] = total }
        }
        #expect(reported == expected)
        for (code, count) in refusals {
            #expect(metrics.counterTotal(label: "headroom_refusals_total", dimensions: [("code", code)]) == count, "\(code)")
        }
        let timed = metrics.timers(label: "headroom_answer_duration").reduce(0) { $0 + $1.values.count }
        #expect(timed == answers)
        #expect(metrics.timers(label: "headroom_answer_duration").allSatisfy { $0.values.allSatisfy { $0 >= 0 } })
    }

    /// Group commit reports each batch's size and the queue's depth; journal mode its syncs
    /// and checkpoints; the decisions are counted once each, on delivery.
    @Test(arguments: [false, true]) func batchesSyncsAndCheckpointsAreReported(journal: Bool) async throws {
        let dir = try F.directory("telemetry-batches")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let metrics = TestMetrics()
        let committer = try GroupCommitter(path: dir, cardKey: F.cardKey, rules: Self.rules,
                                           engineOptions: .init(mapSizeBytes: 64 << 20, metrics: metrics),
                                           options: .init(journal: journal ? .init(checkpointMilliseconds: 20) : nil))
        let n = 200
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<n {
                group.addTask {
                    _ = try? await committer.authorize(try F.request("G\(i)", "2026-11-25T10:00:00+08:00", card: i % 50, amount: "10.00"))
                }
            }
        }
        try committer.close()
        let sizes = try metrics.expectRecorder("headroom_batch_operations").values
        #expect(sizes.reduce(0, +) == Double(n))
        #expect(sizes.count == committer.batches)
        #expect(try metrics.expectRecorder("headroom_queue_depth").values.count == committer.batches)
        let decided = metrics.counters(label: "headroom_authorizations_total").reduce(0) { $0 + $1.values.reduce(0, +) }
        #expect(decided == Int64(n))
        if journal {
            #expect(try metrics.expectTimer("headroom_journal_sync_duration").values.count >= 1)
            #expect(try metrics.expectTimer("headroom_checkpoint_duration").values.count == committer.checkpoints)
            #expect(try metrics.expectTimer("headroom_commit_duration").values.isEmpty)
        } else {
            #expect(try metrics.expectTimer("headroom_commit_duration").values.count == committer.batches)
            #expect(try metrics.expectTimer("headroom_journal_sync_duration").values.isEmpty)
        }
    }

    /// A caller refused at the queue (overloaded) is counted and timed like any answer, from
    /// the blocking and the async API alike, and said as a warning at most once a second.
    @Test func overloadIsCountedAndWarnedOnce() async throws {
        let dir = try F.directory("telemetry-overload")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let metrics = TestMetrics()
        let events = Events()
        let logger = Logger(label: "test") { _ in Capture(events: events) }
        let engine = try Engine(path: dir, cardKey: F.cardKey, rules: Self.rules, options: .init(mapSizeBytes: 64 << 20, metrics: metrics),
                                logger: logger)
        // No writer: the queue is closed, and every caller is refused at once with `overloaded`.
        let committer = try GroupCommitter(engine: engine, options: .init(), startWriter: false)
        for i in 0..<3 {
            expectError(.overloaded) { _ = try committer.perform(.confirm(try PaymentID("O\(i)"))) }
        }
        let id = try PaymentID("A1")
        do {
            _ = try await committer.perform(.confirm(id))
            Issue.record("an async caller was not refused")
        } catch {
            #expect(error.code == .overloaded)
        }
        #expect(metrics.counterTotal(label: "headroom_refusals_total", dimensions: [("code", "overloaded")]) == 4)
        #expect(try metrics.expectTimer("headroom_answer_duration", [("op", "confirm")]).values.count == 4)
        let warnings = events.all.withLock { $0 }.filter { $0.0 == .warning && $0.1.contains("overloaded") }
        #expect(warnings.count == 1, "\(warnings)")
    }

    /// Per-payment refusals are trace events; nothing is logged above trace for a day of
    /// payments; no event carries a card number.
    @Test func nothingPerPaymentAboveTraceAndNoCardNumber() throws {
        let dir = try F.directory("telemetry-log")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let events = Events()
        var logger = Logger(label: "test") { _ in Capture(events: events) }
        logger.logLevel = .trace
        let engine = try Engine(path: dir, cardKey: F.cardKey, rules: Self.rules, options: .init(mapSizeBytes: 64 << 20), logger: logger)
        events.all.withLock { $0.removeAll() }  // opening's notices (the rule set put in force)
        for i in 0..<50 {
            _ = try engine.authorize(try F.request("L\(i)", "2026-11-25T10:00:00+08:00", card: i % 7, amount: "300.00"))
        }
        expectError(.unknownPayment) { try engine.confirm(try PaymentID("never")) }
        expectError(.idConflict) { _ = try engine.authorize(try F.request("L1", "2026-11-25T10:00:00+08:00", card: 3, amount: "1.00")) }
        let logged = events.all.withLock { $0 }
        #expect(logged.contains { $0.0 == .trace && $0.1.contains("unknownPayment") })
        #expect(logged.allSatisfy { $0.0 == .trace }, "\(logged)")
        for n in 0..<7 { #expect(!logged.contains { $0.1.contains(F.pan(n)) }) }
    }

    /// A store refused for its journal's sake is an error event in the log, with the reason.
    @Test func aDamagedJournalIsAnErrorInTheLog() throws {
        let (dir, path, offsets) = try JournalDamageTests.crashed("telemetry-damage")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try JournalDamageTests.change(path) { $0[offsets[2] + JournalFile.headerBytes + 5] ^= 0x5A }
        let events = Events()
        let logger = Logger(label: "test") { _ in Capture(events: events) }
        expectError(.journalDamaged) { _ = try Engine(path: dir, cardKey: F.cardKey, rules: nil, options: .init(), logger: logger) }
        let logged = events.all.withLock { $0 }
        #expect(logged.contains { $0.0 == .error && $0.1.contains("its journal is damaged") && $0.1.contains("damaged at byte \(offsets[2])") },
                "\(logged)")
    }

    final class Events: Sendable {
        let all = Mutex<[(Logger.Level, String)]>([])
    }

    struct Capture: LogHandler {
        let events: Events
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let text = "\(event.message) \(event.metadata ?? [:]) \(metadata)"
            events.all.withLock { $0.append((event.level, text)) }
        }
    }
}
