import Crypto
import Foundation
import HeadroomCore

/// The operator's secret for hashing card numbers: 32 bytes, kept outside the store and the
/// repository. The store keeps only HMAC-SHA256(key, PAN) truncated to 128 bits, and a check
/// value that tells when a store is opened with another key.
public struct CardKey: @unchecked Sendable {
    // @unchecked: SymmetricKey is immutable once made; swift-crypto 3 does not mark it Sendable.
    private let key: SymmetricKey
    /// HMAC keyed once: each hash starts from a copy of this state instead of keying again.
    private let keyed: HMAC<SHA256>

    /// The environment variable that may hold the key, as 64 hex digits.
    public static let environmentVariable = "HEADROOM_CARD_KEY"
    /// Where the tools keep the key file when none is named: outside any store.
    public static var defaultFilePath: String {
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        return "\(home)/.config/headroom/card.key"
    }

    /// A key of exactly 32 bytes; throws `cardKeyUnavailable` for another length.
    public init(bytes: [UInt8]) throws(HeadroomError) {
        guard bytes.count == 32 else {
            throw HeadroomError(.cardKeyUnavailable, "a card key is 32 bytes (64 hex digits), not \(bytes.count) bytes")
        }
        self.key = SymmetricKey(data: bytes)
        self.keyed = HMAC<SHA256>(key: key)
    }

    /// A key written as 64 hex digits (what `HEADROOM_CARD_KEY` holds).
    public init(hex: String) throws(HeadroomError) {
        let text = hex.trimmingCharacters(in: .whitespacesAndNewlines)
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2, limitedBy: text.endIndex) ?? text.endIndex
            guard let byte = UInt8(text[index..<next], radix: 16), text.distance(from: index, to: next) == 2 else {
                throw HeadroomError(.cardKeyUnavailable, "a card key is 64 hex digits")
            }
            bytes.append(byte)
            index = next
        }
        try self.init(bytes: bytes)
    }

    /// A new random key.
    public static func generate() -> CardKey {
        var rng = SystemRandomNumberGenerator()
        return try! CardKey(bytes: (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) })
    }

    /// The keyed hash that stands for `card` in the store.
    public func hash(_ card: CardNumber) -> CardHash {
        var hmac = keyed
        card.withDigits { hmac.update(data: $0) }
        let mac = hmac.finalize()
        return mac.withUnsafeBytes { raw in
            CardHash(high: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                     low: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
    }

    /// The keyed hash that stands for an agreement id, a merchant id or another identifier of
    /// `domain` in the store (the domain is hashed first, so an agreement and a merchant with the
    /// same text never share a hash, nor with a card).
    public func hash(_ text: String, domain: StaticString) -> CardHash {
        var hmac = keyed
        domain.withUTF8Buffer { hmac.update(data: UnsafeRawBufferPointer($0)) }
        hmac.update(data: [0xFF])
        var text = text
        text.withUTF8 { hmac.update(data: UnsafeRawBufferPointer($0)) }
        let mac = hmac.finalize()
        return mac.withUnsafeBytes { raw in
            CardHash(high: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                     low: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
    }

    /// A value derived from the key that reveals nothing of it, stored to recognise the key.
    public var checkValue: UInt64 {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("headroom.card-key.check.v1".utf8), using: key)
        return mac.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self)) }
    }

    var hexString: String {
        key.withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() }
    }
}

extension CardKey {
    /// Where a key came from, for the operator.
    public enum Origin: Sendable, Equatable {
        /// From the environment variable ``environmentVariable``.
        case environment
        /// From the key file at this path.
        case file(String)
        /// Created now, in a new key file at this path (mode 0600).
        case created(String)
    }

    /// Loads the key from `HEADROOM_CARD_KEY`, else from `file` (default
    /// ``defaultFilePath``). When neither exists and `createIfMissing`, writes a new random key
    /// to the file with mode 0600. A key file readable by group or others is refused.
    public static func load(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                            createIfMissing: Bool) throws(HeadroomError) -> (CardKey, Origin) {
        if let hex = environment[environmentVariable], !hex.isEmpty {
            // Two keys named at once: which one the operator meant cannot be guessed.
            if let file {
                throw HeadroomError(.cardKeyUnavailable, "both \(environmentVariable) and the key file \(file) name a card key: give one only (unset \(environmentVariable) or drop --card-key-file)")
            }
            return (try CardKey(hex: hex), .environment)
        }
        let path = file ?? defaultFilePath
        if FileManager.default.fileExists(atPath: path) {
            return (try readFile(path), .file(path))
        }
        guard createIfMissing else {
            throw HeadroomError(.cardKeyUnavailable, "no card key: set \(environmentVariable) or create the key file \(path)")
        }
        let key = generate()
        try key.write(to: path)
        return (key, .created(path))
    }

    static func readFile(_ path: String) throws(HeadroomError) -> CardKey {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw HeadroomError(.cardKeyUnavailable, "cannot read the card key file \(path)")
        }
        if info.st_mode & S_IFMT == S_IFDIR {
            throw HeadroomError(.cardKeyUnavailable, "the card key file \(path) is a directory, not a key file")
        }
        if info.st_mode & 0o077 != 0 {
            let mode = String(info.st_mode & 0o777, radix: 8)
            throw HeadroomError(.cardKeyUnavailable, "the card key file \(path) is readable by others (mode \(mode)): run chmod 600 \(path)")
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw HeadroomError(.cardKeyUnavailable, "cannot read the card key file \(path)")
        }
        do {
            return try CardKey(hex: text)
        } catch {
            throw HeadroomError(.cardKeyUnavailable, "the card key file \(path) does not hold 64 hex digits")
        }
    }

    func write(to path: String) throws(HeadroomError) {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                     attributes: [.posixPermissions: 0o700])
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw HeadroomError(.cardKeyUnavailable, "cannot create the card key file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let line = Array((hexString + "\n").utf8)
        let written = line.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(fd) == 0 else {
            throw HeadroomError(.cardKeyUnavailable, "cannot write the card key file \(path)")
        }
    }
}
