import Foundation
@testable import Headroom
import HeadroomCore
import Testing

@Suite struct DurabilityTests {
    typealias F = Fixture

    @Test func eachSettingDecidesTheSyncOnCommit() {
        #expect(Engine.Options().durability == .syncEachCommit && Engine.Options().environment.syncOnCommit)
        #expect(Engine.Options(durability: .syncEvery(milliseconds: 10)).environment.syncOnCommit == false)
        #expect(Engine.Options(durability: .operatingSystemDecides).environment.syncOnCommit == false)
        // One place decides: a durability set after the options were made is the one LMDB gets.
        var options = Engine.Options()
        options.durability = .operatingSystemDecides
        #expect(options.environment.syncOnCommit == false)
        options.durability = .syncEachCommit
        #expect(options.environment.syncOnCommit)
    }

    @Test func syncEveryFlushesInTheBackground() throws {
        let dir = try F.directory("flush")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let engine = try Engine(path: dir, cardKey: F.cardKey, rules: try F.shippedRules(),
                                options: .init(durability: .syncEvery(milliseconds: 2)))
        for i in 0..<20 {
            #expect(try engine.authorize(try F.request("S\(i)", "2026-11-25T10:00:00+08:00", card: i, amount: "1.00")).decision.isApproved)
        }
        let flusher = try #require(engine.flusher)
        let deadline = Date().addingTimeInterval(10)
        while flusher.flushes.load(ordering: .relaxed) == 0 && Date() < deadline { usleep(1000) }
        #expect(flusher.flushes.load(ordering: .relaxed) > 0)
        #expect(try engine.check().problems.isEmpty)
    }
}
