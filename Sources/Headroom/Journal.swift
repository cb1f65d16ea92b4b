#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HeadroomCore
import LMDBKit

/// Where a ``JournalSyncer`` writes: a journal file, or write-behind's ring of two.
protocol JournalWriting: AnyObject {
    /// Writes `bytes` (whole entries, the last of them `lsn`) and waits until they are on disk.
    func appendAndSync(_ bytes: [UInt8], through lsn: UInt64) throws(HeadroomError)
    /// Everything written is in the store: the next entry may go first.
    func empty() throws(HeadroomError)
}

/// The journal file of a store, `journal` in its directory: a file header, then entries
/// written one after another and synced, each
///
///     file header (4096 bytes): magic "HRJF"(u32) version(u32) salt(u64), zeros
///     entry: magic "HRJ1"(u32) length(u32) lsn(u64) checksum(u64) payload(length)
///
/// where the checksum is an FNV-1a-style hash over the salt, the lsn and the payload's 64-bit
/// words. Entries are numbered by a log sequence number (lsn) that only grows by one; the
/// store's meta `journal-lsn` is the last one its LMDB state holds.
///
/// Each journaling committer starts the file anew with a random salt, which the store records
/// (``JournalIdentity``, meta `journal-file`) before the first answer and forgets after a clean
/// stop. So a journal that was deleted, replaced or cut short while answered payments were in
/// it is recognised, and an entry of another file or another run never passes for one of this
/// run's (its checksum fails).
///
/// The committer fills the file with zeros to `preallocatedBytes` and then overwrites it in
/// place: a sync then writes the data alone, with no block to allocate and no file size to
/// record (measured here: about 100 µs a sync against 220 µs for appending). Emptying it after
/// a checkpoint is only going back to the first entry (and zeroing its header). So the file can
/// hold, past the current entries, older ones already in the store: reading stops at the first
/// entry that is not the next in sequence (an older one, or zeros), or that is incomplete or
/// fails its checksum (a write torn by a crash, never synced and so never answered; or damage,
/// which ``Store/checkNothingAnsweredPast(_:stop:above:holdingLock:)`` tells apart).
final class JournalFile: JournalWriting {
    static let name = "journal"
    static let magic: UInt32 = 0x314A_5248  // "HRJ1" little-endian
    static let fileMagic: UInt32 = 0x464A_5248  // "HRJF" little-endian
    /// 2: generic puts and deletes (decision 0014). A file of version 1 (Headroom 0.9: counter
    /// deltas and payment records) reads as having no header; `store migrate` refuses a store
    /// that still expects one.
    static let fileVersion: UInt32 = 2
    static let headerBytes = 24
    /// Where the first entry starts.
    static let fileHeaderBytes = 4096

    let path: String
    let fd: Int32
    /// Where the next entry goes. Only the journal's writer moves it (the syncer, or recovery
    /// before the syncer starts): a journal always starts writing at its first entry.
    private(set) var offset = JournalFile.fileHeaderBytes
    /// The salt of the entries this process writes (set by ``begin(salt:preallocating:)``).
    private(set) var salt: UInt64 = 0

    /// Opens (creating when missing) the journal of the store in `directory`; `readOnly` opens
    /// an existing one for reading only, and one that is missing or that this account may not
    /// read as empty (a read-only view then says nothing of what it holds). `name`: the file's
    /// (write-behind's ring has two, ``JournalRing``).
    init(directory: String, name: String = JournalFile.name, readOnly: Bool = false) throws(HeadroomError) {
        path = directory + "/" + name
        // Not O_APPEND: entries overwrite the file in place (with O_APPEND, Linux's pwrite
        // would append whatever the offset).
        fd = readOnly ? open(path, O_RDONLY | O_CLOEXEC) : open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 || (readOnly && (errno == ENOENT || errno == EACCES)) else { throw Self.failure("cannot open", path) }
    }

    deinit { if fd >= 0 { close(fd) } }

    static func failure(_ what: String, _ path: String) -> HeadroomError {
        let reason = errno == ENOSPC ? "no space left on device" : String(cString: strerror(errno))
        return HeadroomError(.storage, "\(what) the journal \(path): \(reason)")
    }

    /// The journal's owner holds the file locked (`flock`, exclusive, per open of the file):
    /// one journaling committer per store, in any process. Others take the lock only for a
    /// moment, to learn that no journal runs (so that what a stopped one left may be tidied).

    /// Takes the lock without waiting; `false` when another open of the file holds it.
    func tryExclusive() -> Bool { flock(fd, LOCK_EX | LOCK_NB) == 0 }

    /// Lets the lock go (a journal stopped, or a moment's check ended).
    func unlock() { _ = flock(fd, LOCK_UN) }

    /// Starts the journal of a committer: the file header with its `salt`, the first entry
    /// header zeroed, the file filled with zeros up to `bytes` (what it holds past them stays;
    /// entries go on past `bytes`, growing the file), all synced. On failure (a full disk), the
    /// zeros it added are given back.
    func begin(salt: UInt64, preallocating bytes: Int) throws(HeadroomError) {
        let original = Int(try sizeBytes())
        var size = original
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        do throws(HeadroomError) {
            var header = ByteWriter()
            header.u32(Self.fileMagic)
            header.u32(Self.fileVersion)
            header.u64(salt)
            header.bytes += [UInt8](repeating: 0, count: Self.fileHeaderBytes + Self.headerBytes - header.bytes.count)
            try write(header.bytes, count: header.bytes.count, at: 0)
            size = max(size, header.bytes.count)
            while size < bytes {
                try write(zeros, count: min(zeros.count, bytes - size), at: size)
                size += min(zeros.count, bytes - size)
            }
            guard fsync(fd) == 0 else { throw Self.failure("cannot sync", path) }
        } catch {
            // A full disk must not stay full of zeros that no journal will use: give them back.
            _ = ftruncate(fd, off_t(original))
            throw HeadroomError(.storage, "cannot preallocate \(bytes) bytes for the journal \(path) (given back): \(error.message)")
        }
        self.salt = salt
        offset = Self.fileHeaderBytes
    }

    /// The salt of the file's header, or `nil` when it has none (a new, emptied or foreign file).
    func fileSalt() throws(HeadroomError) -> UInt64? {
        guard fd >= 0 else { return nil }
        var header = [UInt8](repeating: 0, count: 16)
        let n = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, 16, 0) }
        guard n >= 0 else { throw Self.failure("cannot read", path) }
        guard n == 16 else { return nil }
        return header.withUnsafeBytes { raw in
            raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self) == Self.fileMagic
                && raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self) == Self.fileVersion
                ? raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self) : nil
        }
    }

    /// The lsn of the first entry, if one is there (its checksum not yet checked): a cheap look
    /// (one read of 24 bytes) before every write transaction of an engine that does not journal
    /// (``Store/applyJournal(_:_:holdingLock:)``).
    func firstEntryLSN() throws(HeadroomError) -> UInt64? {
        guard fd >= 0 else { return nil }
        // Read onto the stack: this runs before every write transaction, which allocates nothing.
        let (n, magic, lsn) = withUnsafeTemporaryAllocation(byteCount: Self.headerBytes, alignment: 8) { header in
            header.initializeMemory(as: UInt8.self, repeating: 0)
            return (pread(fd, header.baseAddress!, Self.headerBytes, off_t(Self.fileHeaderBytes)), header.load(as: UInt32.self),
                    header.load(fromByteOffset: 8, as: UInt64.self))
        }
        guard n >= 0 else { throw Self.failure("cannot read", path) }
        if n == Self.headerBytes && magic == Self.magic { return lsn }
        // Not an entry, yet not the zeros of an empty journal: a torn first write, or damage.
        // Answered as lsn 0 so that the caller reads the whole file and judges it.
        return n > 0 && (magic != 0 || lsn != 0) ? 0 : nil
    }

    func encode(lsn: UInt64, payload: [UInt8]) -> [UInt8] {
        Self.encode(lsn: lsn, salt: salt, payload: payload)
    }

    static func encode(lsn: UInt64, salt: UInt64, payload: [UInt8]) -> [UInt8] {
        var w = ByteWriter()
        w.u32(magic)
        w.u32(UInt32(payload.count))
        w.u64(lsn)
        w.u64(payload.withUnsafeBytes { checksum(lsn: lsn, salt: salt, $0) })
        w.bytes.append(contentsOf: payload)
        return w.bytes
    }

    /// FNV-1a over 64-bit words (the tail byte by byte), seeded with the lsn and the salt, then
    /// mixed: a check against torn and damaged writes, eight times fewer steps than FNV-1a
    /// over bytes.
    static func checksum(lsn: UInt64, salt: UInt64, _ payload: UnsafeRawBufferPointer) -> UInt64 {
        let prime: UInt64 = 0x0000_0100_0000_01b3
        var h: UInt64 = (0xcbf2_9ce4_8422_2325 ^ lsn) &* prime
        h = (h ^ salt) &* prime
        let words = payload.count / 8
        for w in 0..<words { h = (h ^ payload.loadUnaligned(fromByteOffset: w * 8, as: UInt64.self)) &* prime }
        for i in words * 8..<payload.count { h = (h ^ UInt64(payload[i])) &* prime }
        h ^= UInt64(payload.count)
        h = (h ^ (h >> 33)) &* 0xff51_afd7_ed55_8ccd
        return h ^ (h >> 33)
    }

    /// Writes `bytes` at the end of the entries and waits until they are on disk.
    func appendAndSync(_ bytes: [UInt8], through lsn: UInt64) throws(HeadroomError) {
        try appendAndSync(bytes)
    }

    /// Writes `bytes` at the end of the entries and waits until they are on disk.
    func appendAndSync(_ bytes: [UInt8]) throws(HeadroomError) {
        try write(bytes, count: bytes.count, at: offset)
        offset += bytes.count
        guard fdatasync(fd) == 0 else { throw Self.failure("cannot sync", path) }
    }

    private func write(_ bytes: [UInt8], count: Int, at position: Int) throws(HeadroomError) {
        var written = 0
        while written < count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + written, count - written, off_t(position + written)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Self.failure("cannot write", path)
            }
            written += n
        }
    }

    /// Empties the journal (everything in it is in the store, committed and synced): the next
    /// entry goes first. The first entry's header is zeroed so that a reader stops at once; this
    /// needs no sync, for a reader that finds the old entries skips them (the store holds them:
    /// their lsn is at most its `journal-lsn`), and the next entry's sync covers it.
    func empty() throws(HeadroomError) {
        offset = Self.fileHeaderBytes
        guard try sizeBytes() > Self.fileHeaderBytes else { return }  // nothing written past the header
        try write([UInt8](repeating: 0, count: Self.headerBytes), count: Self.headerBytes, at: Self.fileHeaderBytes)
    }

    /// Cuts the file to nothing and syncs it (an operator accepted the loss of what it held).
    func truncate() throws(HeadroomError) {
        offset = Self.fileHeaderBytes
        guard ftruncate(fd, 0) == 0 else { throw Self.failure("cannot truncate", path) }
        guard fsync(fd) == 0 else { throw Self.failure("cannot sync", path) }
    }

    /// Why reading the journal stopped.
    enum End: Equatable {
        /// Zeros, an older entry or the end of the file: what was written ends here.
        case clean
        /// The next entry had begun but is incomplete or fails its checksum: a write torn by a
        /// crash (never synced, so never answered), or damage.
        case torn
    }

    /// The entries after the file header, in order, each the next in sequence after the one
    /// before, up to the first that is not (see ``End``); none without a file header.
    func entries() throws(HeadroomError) -> (entries: [(lsn: UInt64, payload: [UInt8])], end: End) {
        let read = try entriesAndStop()
        return (read.entries, read.end)
    }

    /// ``entries()``, and the byte offset where reading stopped.
    func entriesAndStop() throws(HeadroomError) -> (entries: [(lsn: UInt64, payload: [UInt8])], end: End, stop: Int) {
        guard let salt = try fileSalt() else { return ([], .clean, Self.fileHeaderBytes) }
        let size = Int(try sizeBytes())
        var out: [(lsn: UInt64, payload: [UInt8])] = []
        var position = Self.fileHeaderBytes
        var header = [UInt8](repeating: 0, count: Self.headerBytes)
        while position + Self.headerBytes <= size {
            try read(into: &header, at: position)
            let (magic, length, lsn, sum) = header.withUnsafeBytes { raw in
                (raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self), Int(raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self)),
                 raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
            }
            guard magic == Self.magic, out.isEmpty || lsn == out[out.count - 1].lsn &+ 1 else { return (out, .clean, position) }
            let start = position + Self.headerBytes
            guard start + length <= size else { return (out, .torn, position) }
            var payload = [UInt8](repeating: 0, count: length)
            try read(into: &payload, at: start)
            guard payload.withUnsafeBytes({ Self.checksum(lsn: lsn, salt: salt, $0) }) == sum else { return (out, .torn, position) }
            out.append((lsn, payload))
            position = start + length
        }
        return (out, .clean, position)
    }

    func read(into buffer: inout [UInt8], at position: Int) throws(HeadroomError) {
        var done = 0
        let count = buffer.count
        while done < count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(position + done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Self.failure("cannot read", path) }
            done += n
        }
    }
}
