#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Write-behind's memory (decision 0019): every key written since LMDB last took it up, with
/// the value written (or a tombstone for a delete) and the journal entry (lsn) that wrote it
/// last. The writer decides from it over a read snapshot of LMDB; an entry is dropped
/// (``prune(_:key:appliedThrough:)``) once LMDB holds its lsn.
///
/// Bounded and allocation-free once made: entries live in slots of an arena mapped when the
/// committer starts (size classes, each with a free list), found through an open-addressing
/// index of fixed size (linear probing, deletions shift back, no tombstones in the index). A
/// write that finds no room throws `overloaded` and changes nothing.
///
/// The live keys of the expiry table are also kept in key order (``Table/expiry`` is the one
/// table the writer scans, at the start of every batch); scans of other tables sort what the
/// overlay holds of them on the spot (rare operations, never a payment).
///
/// A batch's writes can be undone (``rollback()``): the first write of a key in a batch records
/// what the key held before.
///
/// Only the writer thread uses it.
final class Overlay {
    /// One slot: lsn(u64) hash(u64) valueLength(u32) keyLength(u16) table(u8) classAndFlags(u8),
    /// then the key, then the value.
    private static let headerBytes = 24
    private static let tombstoneFlag: UInt8 = 0x80

    private let arena: UnsafeMutableRawPointer
    /// Bytes of the arena: the bound on what the overlay holds.
    let arenaBytes: Int
    /// Where slots never used begin.
    private var top = 0
    /// Per size class, the offset of the first free slot (`-1`: none); a free slot holds the
    /// next one's offset in its first 8 bytes.
    private var free = [Int](repeating: -1, count: 48)
    private let cells: UnsafeMutablePointer<UInt64>
    private let cellCount: Int
    private let mask: Int
    /// Entries held (live values and tombstones).
    private(set) var entries = 0
    /// The most entries the index takes (half its cells).
    let entriesMax: Int
    /// Bytes of slots in use.
    private(set) var bytesUsed = 0
    /// Offsets of the live entries of the expiry table, in key order.
    private var ordered: [Int] = []

    /// The lsn the current batch writes as (``beginBatch(_:)``).
    private(set) var batchLSN: UInt64 = 0
    private var undo: [UInt8] = []
    private var undoStarts: [Int] = []

    /// An overlay of at most `bytesMax` bytes of entries, and one entry per 256 of those bytes
    /// (an index of 16 bytes per entry besides).
    init(bytesMax: Int) throws(HeadroomError) {
        precondition(bytesMax >= 1 << 20)
        arenaBytes = bytesMax
        entriesMax = max(1024, bytesMax / 256)
        var count = 1
        while count < entriesMax * 2 { count <<= 1 }
        cellCount = count
        mask = count - 1
        // Mapped, not allocated: pages are taken only as they are touched.
        let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE
        guard let a = mmap(nil, bytesMax, PROT_READ | PROT_WRITE, flags, -1, 0), a != MAP_FAILED else {
            throw HeadroomError(.storage, "cannot map \(bytesMax) bytes for the write-behind overlay: \(String(cString: strerror(errno)))")
        }
        guard let c = mmap(nil, count * 8, PROT_READ | PROT_WRITE, flags, -1, 0), c != MAP_FAILED else {
            munmap(a, bytesMax)
            throw HeadroomError(.storage, "cannot map the write-behind overlay's index: \(String(cString: strerror(errno)))")
        }
        arena = a
        cells = c.bindMemory(to: UInt64.self, capacity: count)
        // Touched now, when the committer starts, rather than a page fault at a time under the
        // first payments: the whole index (entries land all over it), and the arena's first
        // quarter (slots are taken from the bottom and reused).
        memset(c, 0, count * 8)
        memset(a, 0, min(bytesMax, max(1 << 20, bytesMax / 4)))
        ordered.reserveCapacity(4096)
        undo.reserveCapacity(1 << 16)
        undoStarts.reserveCapacity(4096)
    }

    deinit {
        munmap(arena, arenaBytes)
        munmap(UnsafeMutableRawPointer(cells), cellCount * 8)
    }

    // MARK: Reading

    /// What the overlay says of a key.
    enum Lookup {
        /// Nothing: LMDB's snapshot answers.
        case absent
        /// Deleted since LMDB took it up.
        case deleted
        /// Its value, valid until the overlay is next written.
        case value(UnsafeRawBufferPointer)
    }

    func lookup(_ table: Table, key: UnsafeRawBufferPointer) -> Lookup {
        let h = Self.hash(table.rawValue, key)
        guard let slot = find(table.rawValue, key, h).slot else { return .absent }
        return isTombstone(slot) ? .deleted : .value(value(slot))
    }

    /// Whether the overlay holds the key at all (a value or a tombstone).
    func holds(_ table: Table, key: UnsafeRawBufferPointer) -> Bool {
        find(table.rawValue, key, Self.hash(table.rawValue, key)).slot != nil
    }

    /// The live entries of `table` from the first key at or after `start`, in key order: for
    /// the expiry table its kept order; for others, sorted now.
    func liveInOrder(_ table: Table, from start: UnsafeRawBufferPointer?) -> OrderedRun {
        if table == .expiry {
            return OrderedRun(offsets: nil, index: start.map { lowerBound($0) } ?? 0)
        }
        var found: [Int] = []
        for i in 0..<cellCount where cells[i] != 0 {
            let slot = Self.offset(cells[i])
            guard self.table(slot) == table.rawValue, !isTombstone(slot) else { continue }
            if let start, Self.compare(key(slot), start) < 0 { continue }
            found.append(slot)
        }
        found.sort { Self.compare(key($0), key($1)) < 0 }
        return OrderedRun(offsets: found, index: 0)
    }

    /// A position in the overlay's live entries of one table, in key order.
    struct OrderedRun {
        var offsets: [Int]?
        var index: Int
    }

    /// The entry at `run`'s position, if any.
    func entry(_ run: OrderedRun) -> (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)? {
        let list = run.offsets ?? ordered
        guard run.index < list.count else { return nil }
        return (key(list[run.index]), value(list[run.index]))
    }

    /// Calls `body` with every key of `table` the overlay holds, and whether it is a tombstone.
    func forEachKey(_ table: Table, _ body: (UnsafeRawBufferPointer, Bool) throws(HeadroomError) -> Void) throws(HeadroomError) {
        for i in 0..<cellCount where cells[i] != 0 {
            let slot = Self.offset(cells[i])
            if self.table(slot) == table.rawValue { try body(key(slot), isTombstone(slot)) }
        }
    }

    // MARK: Writing

    /// Starts a batch whose writes are those of journal entry `lsn`.
    func beginBatch(_ lsn: UInt64) {
        batchLSN = lsn
        undo.removeAll(keepingCapacity: true)
        undoStarts.removeAll(keepingCapacity: true)
    }

    /// Writes `value` under the key (`nil`: deleted), as of the current batch.
    /// - Throws: `overloaded` when the overlay has no room (nothing is changed).
    func write(_ table: Table, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?) throws(HeadroomError) {
        let h = Self.hash(table.rawValue, key)
        let (cell, slot) = find(table.rawValue, key, h)
        if let slot {
            if lsn(slot) != batchLSN { recordUndo(slot) }
        } else {
            recordUndoAbsent(table, key)
        }
        try set(table.rawValue, key, value, h, cell, slot, lsn: batchLSN)
    }

    /// Undoes the current batch's writes, last first.
    func rollback() throws(HeadroomError) {
        let starts = undoStarts
        let undone: Result<Void, HeadroomError> = undo.withUnsafeBytes { raw in Result { () throws(HeadroomError) in
            for start in starts.reversed() {
                let table = raw[start], state = raw[start + 1]
                let lsn = raw.loadUnaligned(fromByteOffset: start + 2, as: UInt64.self)
                let keyCount = Int(raw.loadUnaligned(fromByteOffset: start + 10, as: UInt16.self))
                let valueCount = Int(raw.loadUnaligned(fromByteOffset: start + 12, as: UInt32.self))
                let key = UnsafeRawBufferPointer(rebasing: raw[start + 16..<start + 16 + keyCount])
                let h = Self.hash(table, key)
                let (cell, slot) = find(table, key, h)
                switch state {
                case 0:
                    if let slot { remove(cell, slot) }
                case 1:
                    try set(table, key, nil, h, cell, slot, lsn: lsn)
                default:
                    let value = UnsafeRawBufferPointer(rebasing: raw[start + 16 + keyCount..<start + 16 + keyCount + valueCount])
                    try set(table, key, value, h, cell, slot, lsn: lsn)
                }
            }
        } }
        try undone.get()
        undo.removeAll(keepingCapacity: true)
        undoStarts.removeAll(keepingCapacity: true)
    }

    /// Drops the key when its last write is at most `applied`: LMDB holds it now.
    func prune(_ table: Table, key: UnsafeRawBufferPointer, appliedThrough applied: UInt64) {
        let (cell, slot) = find(table.rawValue, key, Self.hash(table.rawValue, key))
        if let slot, lsn(slot) <= applied { remove(cell, slot) }
    }

    /// Whether `operations` more operations fit with room to spare (each is given 4 KiB and 16
    /// entries, a batch at most a quarter of the overlay, so that an empty overlay always has
    /// room): the writer waits for the apply before taking a batch that may not. A batch
    /// larger still is refused `overloaded` at the write that finds no room.
    func hasRoom(forOperations operations: Int) -> Bool {
        let bytes = min(operations * 4096, arenaBytes / 4), count = min(operations * 16, entriesMax / 4)
        return bytesUsed + bytes <= arenaBytes - arenaBytes / 8 && entries + count <= entriesMax
    }

    // MARK: Slots

    private func set(_ table: UInt8, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer?, _ h: UInt64,
                     _ cell: Int, _ old: Int?, lsn: UInt64) throws(HeadroomError) {
        let needed = Self.headerBytes + key.count + (value?.count ?? 0)
        let sizeClass = Self.sizeClass(needed)
        let wasLive = old.map { !isTombstone($0) } ?? false
        var slot: Int
        if let old, Int(arena.load(fromByteOffset: old + 23, as: UInt8.self) & 0x7F) >= sizeClass {
            slot = old
        } else {
            guard old != nil || entries < entriesMax else {
                throw HeadroomError(.overloaded, "the write-behind overlay holds \(entries) entries, its most: the store is behind")
            }
            slot = try allocate(sizeClass)
            arena.storeBytes(of: UInt8(sizeClass), toByteOffset: slot + 23, as: UInt8.self)
            arena.storeBytes(of: table, toByteOffset: slot + 22, as: UInt8.self)
            arena.storeBytes(of: UInt16(key.count), toByteOffset: slot + 20, as: UInt16.self)
            arena.storeBytes(of: h, toByteOffset: slot + 8, as: UInt64.self)
            (arena + slot + Self.headerBytes).copyMemory(from: key.baseAddress!, byteCount: key.count)
        }
        arena.storeBytes(of: lsn, toByteOffset: slot, as: UInt64.self)
        arena.storeBytes(of: UInt32(value?.count ?? 0), toByteOffset: slot + 16, as: UInt32.self)
        if let value, value.count > 0 {
            (arena + slot + Self.headerBytes + key.count).copyMemory(from: value.baseAddress!, byteCount: value.count)
        }
        let classByte = arena.load(fromByteOffset: slot + 23, as: UInt8.self) & 0x7F
        arena.storeBytes(of: value == nil ? classByte | Self.tombstoneFlag : classByte, toByteOffset: slot + 23, as: UInt8.self)
        if slot != old {
            cells[cell] = Self.cell(h, slot)
            if let old { release(old) } else { entries += 1 }
        }
        guard table == Table.expiry.rawValue else { return }
        let isLive = value != nil
        if wasLive && isLive && slot != old {
            ordered[lowerBound(key)] = slot
        } else if !wasLive && isLive {
            ordered.insert(slot, at: lowerBound(key))
        } else if wasLive && !isLive {
            ordered.remove(at: lowerBound(key))
        }
    }

    private func remove(_ cell: Int, _ slot: Int) {
        if table(slot) == Table.expiry.rawValue && !isTombstone(slot) { ordered.remove(at: lowerBound(key(slot))) }
        // Backward shift: each entry after the hole that may live in it moves up.
        var hole = cell
        var j = cell
        while true {
            j = (j + 1) & mask
            let c = cells[j]
            if c == 0 { break }
            let home = Int(truncatingIfNeeded: arena.load(fromByteOffset: Self.offset(c) + 8, as: UInt64.self)) & mask
            if (j &- home) & mask >= (j &- hole) & mask {
                cells[hole] = c
                hole = j
            }
        }
        cells[hole] = 0
        release(slot)
        entries -= 1
    }

    private func allocate(_ sizeClass: Int) throws(HeadroomError) -> Int {
        let size = Self.classBytes(sizeClass)
        if free[sizeClass] >= 0 {
            let slot = free[sizeClass]
            free[sizeClass] = arena.load(fromByteOffset: slot, as: Int.self)
            bytesUsed += size
            return slot
        }
        guard top + size <= arenaBytes else {
            throw HeadroomError(.overloaded, "the write-behind overlay's \(arenaBytes) bytes are full: the store is behind")
        }
        let slot = top
        top += size
        bytesUsed += size
        return slot
    }

    private func release(_ slot: Int) {
        let sizeClass = Int(arena.load(fromByteOffset: slot + 23, as: UInt8.self) & 0x7F)
        arena.storeBytes(of: free[sizeClass], toByteOffset: slot, as: Int.self)
        free[sizeClass] = slot
        bytesUsed -= Self.classBytes(sizeClass)
    }

    private func recordUndo(_ slot: Int) {
        let key = key(slot)
        let tomb = isTombstone(slot)
        let value = tomb ? UnsafeRawBufferPointer(start: nil, count: 0) : value(slot)
        recordUndo(table(slot), key, state: tomb ? 1 : 2, lsn: lsn(slot), value)
    }

    private func recordUndoAbsent(_ table: Table, _ key: UnsafeRawBufferPointer) {
        recordUndo(table.rawValue, key, state: 0, lsn: 0, UnsafeRawBufferPointer(start: nil, count: 0))
    }

    /// table(u8) state(u8: 0 absent, 1 tombstone, 2 value) lsn(u64) keyLength(u16)
    /// valueLength(u32) key value
    private func recordUndo(_ table: UInt8, _ key: UnsafeRawBufferPointer, state: UInt8, lsn: UInt64, _ value: UnsafeRawBufferPointer) {
        undoStarts.append(undo.count)
        undo.append(table)
        undo.append(state)
        withUnsafeBytes(of: lsn) { undo.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt16(key.count)) { undo.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(value.count)) { undo.append(contentsOf: $0) }
        undo.append(contentsOf: key)
        if value.count > 0 { undo.append(contentsOf: value) }
    }

    // MARK: Index

    /// The cell that holds the key, or the empty cell where it would go.
    private func find(_ table: UInt8, _ key: UnsafeRawBufferPointer, _ h: UInt64) -> (cell: Int, slot: Int?) {
        var i = Int(truncatingIfNeeded: h) & mask
        let tag = UInt32(truncatingIfNeeded: h >> 32)
        while true {
            let c = cells[i]
            if c == 0 { return (i, nil) }
            if UInt32(truncatingIfNeeded: c >> 32) == tag {
                let slot = Self.offset(c)
                if self.table(slot) == table && Self.compare(self.key(slot), key) == 0 { return (i, slot) }
            }
            i = (i + 1) & mask
        }
    }

    /// The first position in `ordered` whose key is at or after `key`.
    private func lowerBound(_ key: UnsafeRawBufferPointer) -> Int {
        var low = 0, high = ordered.count
        while low < high {
            let mid = (low + high) / 2
            if Self.compare(self.key(ordered[mid]), key) < 0 { low = mid + 1 } else { high = mid }
        }
        return low
    }

    private static func cell(_ h: UInt64, _ slot: Int) -> UInt64 {
        (h & 0xFFFF_FFFF_0000_0000) | UInt64((slot >> 5) + 1)
    }

    private static func offset(_ cell: UInt64) -> Int { (Int(truncatingIfNeeded: cell & 0xFFFF_FFFF) - 1) << 5 }

    // MARK: Slot fields

    private func lsn(_ slot: Int) -> UInt64 { arena.load(fromByteOffset: slot, as: UInt64.self) }
    private func table(_ slot: Int) -> UInt8 { arena.load(fromByteOffset: slot + 22, as: UInt8.self) }
    private func isTombstone(_ slot: Int) -> Bool { arena.load(fromByteOffset: slot + 23, as: UInt8.self) & Self.tombstoneFlag != 0 }

    private func key(_ slot: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: arena + slot + Self.headerBytes, count: Int(arena.load(fromByteOffset: slot + 20, as: UInt16.self)))
    }

    private func value(_ slot: Int) -> UnsafeRawBufferPointer {
        let keyCount = Int(arena.load(fromByteOffset: slot + 20, as: UInt16.self))
        return UnsafeRawBufferPointer(start: arena + slot + Self.headerBytes + keyCount,
                                      count: Int(arena.load(fromByteOffset: slot + 16, as: UInt32.self)))
    }

    // MARK: Helpers

    /// Size classes: 32 to 512 bytes by 32, then doubling.
    static func sizeClass(_ bytes: Int) -> Int {
        if bytes <= 512 { return max(0, (bytes + 31) / 32 - 1) }
        var sizeClass = 16, size = 1024
        while size < bytes {
            size <<= 1
            sizeClass += 1
        }
        return sizeClass
    }

    static func classBytes(_ sizeClass: Int) -> Int { sizeClass < 16 ? (sizeClass + 1) * 32 : 512 << (sizeClass - 15) }

    /// Byte order as LMDB's default comparison: memcmp over the shorter, then the shorter first.
    static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let n = min(a.count, b.count)
        if n > 0 {
            let c = memcmp(a.baseAddress!, b.baseAddress!, n)
            if c != 0 { return Int(c) }
        }
        return a.count - b.count
    }

    static func hash(_ table: UInt8, _ key: UnsafeRawBufferPointer) -> UInt64 {
        let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15
        var h = (UInt64(table) << 56 ^ UInt64(key.count)) &* multiplier
        let words = key.count / 8
        for w in 0..<words {
            h = (h ^ key.loadUnaligned(fromByteOffset: w * 8, as: UInt64.self)) &* multiplier
            h ^= h >> 29
        }
        var tail: UInt64 = 0
        for i in words * 8..<key.count { tail = tail << 8 | UInt64(key[i]) }
        h = (h ^ tail) &* multiplier
        h ^= h >> 32
        h = h &* 0xBF58_476D_1CE4_E5B9
        return h ^ (h >> 29)
    }
}
