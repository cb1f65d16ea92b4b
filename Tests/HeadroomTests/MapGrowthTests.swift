import Foundation
@testable import Headroom
import HeadroomCore
import HeadroomRules
import LMDBKit
import Testing

@Suite struct MapGrowthTests {
    typealias F = Fixture

    func engine(_ dir: String, mapSizeBytes: Int, max: Int = 1 << 40) throws -> Engine {
        try Engine(path: dir, cardKey: F.cardKey, rules: try F.shippedRules(),
                   options: .init(mapSizeBytes: mapSizeBytes, mapSizeBytesMax: max))
    }

    @Test func aFullMapGrowsInsteadOfFailingPayments() throws {
        let dir = try F.directory("grow")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let engine = try engine(dir, mapSizeBytes: 256 << 10)
        for i in 0..<3_000 {
            let r = try engine.authorize(try F.request("G\(i)", "2026-11-25T10:00:00+08:00", card: i, amount: "10.00"))
            #expect(r.decision.isApproved)
            if i % 2 == 0 { try engine.confirm(try PaymentID("G\(i)")) }
        }
        #expect(try engine.statistics().mapSizeBytes > 256 << 10)
        #expect(try engine.check().problems.isEmpty)
        #expect(try engine.check().liveReservations == 3_000)
    }

    @Test func groupCommitRetriesTheBatchAfterGrowing() throws {
        let dir = try F.directory("grow-group")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let committer = try GroupCommitter(engine: try engine(dir, mapSizeBytes: 256 << 10))
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for i in 0..<500 {
                let r = try! committer.authorize(try! F.request("T\(thread)-\(i)", "2026-11-25T10:00:00+08:00", card: thread * 1000 + i, amount: "10.00"))
                #expect(r.decision.isApproved)
            }
        }
        committer.shutdown()
        #expect(try committer.engine.statistics().mapSizeBytes > 256 << 10)
        #expect(try committer.engine.check().liveReservations == 2_000)
        #expect(try committer.engine.check().problems.isEmpty)
    }

    @Test func atItsLargestTheMapFailsThePaymentAndKeepsNothingOfIt() throws {
        let dir = try F.directory("grow-max")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let engine = try engine(dir, mapSizeBytes: 256 << 10, max: 512 << 10)
        var failure: HeadroomError?
        var answered = 0
        for i in 0..<20_000 {
            do {
                _ = try engine.authorize(try F.request("M\(i)", "2026-11-25T10:00:00+08:00", card: i, amount: "10.00"))
                answered += 1
            } catch {
                failure = error as? HeadroomError
                break
            }
        }
        #expect(failure?.code == .storage && failure?.isMapFull == true)
        #expect(failure?.message.contains("mapSizeBytesMax") == true)
        #expect(try engine.statistics().mapSizeBytes == 512 << 10)
        #expect(try engine.check().liveReservations == answered)
        #expect(try engine.check().problems.isEmpty)
    }
}
