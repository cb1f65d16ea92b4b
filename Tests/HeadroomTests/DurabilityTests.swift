import Foundation
@testable import Headroom
import HeadroomCore
import Testing

@Suite struct DurabilityTests {
    typealias F = Fixture

    @Test func eachSettingDecidesTheSyncOnCommit() {
        #expect(Engine.Options().durability == .syncEachCommit && Engine.Options().storage.syncOnCommit)
        #expect(Engine.Options(durability: .syncEvery(milliseconds: 10)).storage.syncOnCommit == false)
        #expect(Engine.Options(durability: .operatingSystemDecides).storage.syncOnCommit == false)
        // The storage flag alone still means what it meant.
        #expect(Engine.Options(storage: .init(syncOnCommit: false)).durability == .operatingSystemDecides)
        #expect(Engine.Options(storage: .init(syncOnCommit: false), durability: .syncEachCommit).storage.syncOnCommit)
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
