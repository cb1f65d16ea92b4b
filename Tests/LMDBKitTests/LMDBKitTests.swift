import Foundation
import LMDBKit
import Testing

/// A fresh directory under the system temporary directory, removed by the caller.
func temporaryDirectory(_ name: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("lmdbkit-\(name)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite struct LMDBKitTests {
    @Test func committedWritesAreReadBackAndAbortedOnesAreNot() throws {
        let dir = try temporaryDirectory("rw")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = try Environment(path: dir, options: .init(mapSizeBytes: 1 << 20))
        let db = try env.openDatabase(named: "t")

        let txn = try env.beginWrite()
        try txn.put(db, key: [1], value: [10, 11])
        try txn.commit()

        let aborted = try env.beginWrite()
        try aborted.put(db, key: [2], value: [20])
        aborted.abort()

        do {
            let dropped = try env.beginWrite()
            try dropped.put(db, key: [3], value: [30])
            // Dropped without commit: the deinit aborts.
        }

        let read = try env.beginRead()
        #expect(try read.get(db, key: [1]) == [10, 11])
        #expect(try read.get(db, key: [2]) == nil)
        #expect(try read.get(db, key: [3]) == nil)
    }

    @Test func deleteAndCursorOrder() throws {
        let dir = try temporaryDirectory("cursor")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = try Environment(path: dir, options: .init(mapSizeBytes: 1 << 20))
        let db = try env.openDatabase(named: "t")
        let txn = try env.beginWrite()
        for k: UInt8 in [5, 1, 3, 9, 7] { try txn.put(db, key: [k], value: [k]) }
        #expect(try txn.delete(db, key: [3]))
        #expect(try txn.delete(db, key: [3]) == false)
        var keys: [UInt8] = []
        try txn.withCursor(db) { cursor in
            var entry = try [UInt8]([4]).withUnsafeBytes { try cursor.seek(atOrAfter: $0) }
            while let (key, _) = entry {
                keys.append(key[0])
                if key[0] == 7 { try cursor.deleteCurrent() }
                entry = try cursor.next()
            }
        }
        #expect(keys == [5, 7, 9])
        try txn.commit()
        let read = try env.beginRead()
        #expect(try read.get(db, key: [7]) == nil)
        #expect(try read.get(db, key: [9]) == [9])
    }

    @Test func aFullMapIsAConditionNotACrash() throws {
        let dir = try temporaryDirectory("full")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = try Environment(path: dir, options: .init(mapSizeBytes: 64 * 1024))
        let db = try env.openDatabase(named: "t")
        let txn = try env.beginWrite()
        var caught: LMDBError?
        do {
            for i in 0..<10_000 {
                try txn.put(db, key: Array(String(i).utf8), value: [UInt8](repeating: 1, count: 100))
            }
        } catch {
            caught = error
        }
        #expect(caught?.isMapFull == true)
        #expect(caught?.description.contains("mdb_put(t)") == true)
    }

    @Test func everyOptionIsApplied() throws {
        let dir = try temporaryDirectory("options")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = try Environment(path: dir, options: .init(mapSizeBytes: 8 << 20, readersMax: 7, syncOnCommit: false))
        let stats = try env.statistics()
        #expect(stats.mapSizeBytes == 8 << 20)
        #expect(stats.pageSizeBytes >= 4096)
        var info = stat()
        #expect(stat(dir + "/data.mdb", &info) == 0)
        #expect(info.st_mode & 0o077 == 0)
        try env.sync()
        #expect(try env.clearStaleReaders() == 0)
    }
}
