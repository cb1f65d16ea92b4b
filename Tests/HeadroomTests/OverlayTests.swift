import Foundation
@testable import Headroom
import HeadroomCore
import Testing

/// Write-behind's overlay (decision 0019) against a dictionary, on seeded random writes,
/// deletes, rolled-back batches and prunes: every lookup, and the expiry table's order, agree.
@Suite struct OverlayTests {
    struct Key: Hashable {
        let table: Table
        let bytes: [UInt8]
    }

    struct Held: Equatable {
        var value: [UInt8]?  // nil: a tombstone
        var lsn: UInt64
    }

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func overlayMatchesADictionary(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        // Small, so that slots are reused from their free lists and the index wraps around.
        let overlay = try Overlay(bytesMax: 1 << 20)
        var model: [Key: Held] = [:]
        // Few distinct keys of varied lengths in two tables, so that keys are rewritten,
        // deleted and pruned often and probe chains collide.
        let keys: [Key] = (0..<600).map { i in
            let table: Table = i % 3 == 0 ? .expiry : .counters
            let length = 1 + Int(SplitMix64(seed: UInt64(i)).state % 40)
            return Key(table: table, bytes: (0..<length).map { UInt8(truncatingIfNeeded: ($0 * 31 + i * 7) ^ (i >> 3)) })
        }
        var lsn: UInt64 = 0
        var applied: UInt64 = 0
        var most = 0
        for round in 0..<1_500 {
            lsn += 1
            overlay.beginBatch(lsn)
            let before = model
            for _ in 0..<Int(1 + rng.next() % 8) {
                let key = keys[Int(rng.next() % UInt64(keys.count))]
                let delete = rng.next() % 4 == 0
                let value = delete ? nil : (0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                try key.bytes.withUnsafeBytes { k in
                    if let value {
                        try value.withUnsafeBytes { v in try overlay.write(key.table, key: k, value: v) }
                    } else {
                        try overlay.write(key.table, key: k, value: nil)
                    }
                }
                model[key] = Held(value: value, lsn: lsn)
            }
            if rng.next() % 5 == 0 {
                try overlay.rollback()
                model = before
                lsn -= 1
            }
            if rng.next() % 10 == 0 && applied < lsn {
                applied += 1 + rng.next() % (lsn - applied)
                for key in keys {
                    key.bytes.withUnsafeBytes { overlay.prune(key.table, key: $0, appliedThrough: applied) }
                    if let held = model[key], held.lsn <= applied { model[key] = nil }
                }
            }
            // Every key: the overlay's answer is the model's.
            for key in keys {
                let got: [UInt8]?? = key.bytes.withUnsafeBytes { k in
                    switch overlay.lookup(key.table, key: k) {
                    case .absent: return nil
                    case .deleted: return .some(nil)
                    case .value(let v): return .some(Array(v))
                    }
                }
                let want: [UInt8]?? = model[key].map { $0.value }
                #expect(got == want, "seed \(seed) round \(round): \(key.bytes)")
                if got != want { return }
            }
            #expect(overlay.entries == model.count, "seed \(seed) round \(round)")
            most = max(most, model.count)
            // The live expiry keys, in LMDB's order.
            let wantOrder = model.filter { $0.key.table == .expiry && $0.value.value != nil }.keys.map(\.bytes)
                .sorted { $0.lexicographicallyPrecedes($1) }
            var gotOrder: [[UInt8]] = []
            var run = overlay.liveInOrder(.expiry, from: nil)
            while let entry = overlay.entry(run) {
                gotOrder.append(Array(entry.key))
                run.index += 1
            }
            #expect(gotOrder == wantOrder, "seed \(seed) round \(round)")
            if gotOrder != wantOrder { return }
        }
        #expect(applied > 100 && most > 50, "seed \(seed): the run pruned and kept entries")
    }

    /// Full is said as `overloaded`, and a write refused leaves the overlay as it was.
    @Test func aFullOverlayRefusesAndChangesNothing() throws {
        let overlay = try Overlay(bytesMax: 1 << 20)
        overlay.beginBatch(1)
        var written = 0
        var refusal: HeadroomError?
        let value = [UInt8](repeating: 7, count: 2000)
        for i in 0..<10_000 where refusal == nil {
            do throws(HeadroomError) {
                try withBytes(withUnsafeBytes(of: i) { Array($0) }) { (k) throws(HeadroomError) in
                    try withBytes(value) { (v) throws(HeadroomError) in try overlay.write(.payments, key: k, value: v) }
                }
                written += 1
            } catch {
                refusal = error
            }
        }
        #expect(refusal?.code == .overloaded)
        #expect(overlay.entries == written && written > 300)
        #expect(!overlay.hasRoom(forOperations: 1))
    }
}
