/// Appends fixed-width fields to a byte buffer (host order for numbers: a store never moves
/// between architectures).
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v) { bytes.append(contentsOf: $0) } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v) { bytes.append(contentsOf: $0) } }
    mutating func i64(_ v: Int64) { withUnsafeBytes(of: v) { bytes.append(contentsOf: $0) } }
    mutating func i32(_ v: Int32) { withUnsafeBytes(of: v) { bytes.append(contentsOf: $0) } }

    /// A string of at most 65,535 UTF-8 bytes, length first.
    mutating func string(_ s: String) {
        let count = s.utf8.count  // O(1) for native strings; no copy of the bytes is made
        precondition(count <= Int(UInt16.max))
        u16(UInt16(count))
        bytes.append(contentsOf: s.utf8)
    }

    mutating func raw(_ other: UnsafeRawBufferPointer) { bytes.append(contentsOf: other) }
}

/// Reads what ``ByteWriter`` wrote; every read answers `nil` past the end, so a damaged
/// record is reported, never read out of bounds.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    var isAtEnd: Bool { offset == bytes.count }

    private mutating func load<T: FixedWidthInteger>(_: T.Type) -> T? {
        let size = MemoryLayout<T>.size
        guard offset + size <= bytes.count else { return nil }
        defer { offset += size }
        return bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
    }

    mutating func u8() -> UInt8? { load(UInt8.self) }
    mutating func u16() -> UInt16? { load(UInt16.self) }
    mutating func u32() -> UInt32? { load(UInt32.self) }
    mutating func u64() -> UInt64? { load(UInt64.self) }
    mutating func i64() -> Int64? { load(Int64.self) }
    mutating func i32() -> Int32? { load(Int32.self) }

    mutating func string() -> String? {
        guard let count = u16().map(Int.init), offset + count <= bytes.count else { return nil }
        defer { offset += count }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count]), as: UTF8.self)
    }

    mutating func slice(_ count: Int) -> UnsafeRawBufferPointer? {
        guard offset + count <= bytes.count else { return nil }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
    }
}
