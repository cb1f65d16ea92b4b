import HeadroomCore

/// An agreement (协议) or entrusted mandate (商业委托) as the `agreements` table holds it,
/// under the keyed hash of its id (decision 0017).
struct AgreementRecord: Equatable {
    static let version: UInt8 = 1

    var facts: AgreementFacts
    var card: CardHash
    var institution: Institution

    func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.u8(Self.version)
        w.u8(facts.kind?.rawValue ?? 0)
        w.i64(facts.signedAt?.unixSeconds ?? Int64.min)
        w.i64(facts.endedAt?.unixSeconds ?? Int64.min)
        w.u8(facts.endedBy?.rawValue ?? 0)
        w.u64(card.high)
        w.u64(card.low)
        w.u64(institution.high)
        w.u64(institution.low)
        return w.bytes
    }

    init(facts: AgreementFacts, card: CardHash, institution: Institution) {
        self.facts = facts
        self.card = card
        self.institution = institution
    }

    init?(bytes: UnsafeRawBufferPointer) {
        var r = ByteReader(bytes)
        guard r.u8() == Self.version, let kindByte = r.u8(), kindByte == 0 || AgreementFacts.Kind(rawValue: kindByte) != nil,
              let signed = r.i64(), let ended = r.i64(), let by = r.u8(),
              let high = r.u64(), let low = r.u64(), let iHigh = r.u64(), let iLow = r.u64(), r.isAtEnd else { return nil }
        facts = AgreementFacts(kind: AgreementFacts.Kind(rawValue: kindByte), signedAt: signed == Int64.min ? nil : Timestamp(unixSeconds: signed),
                               endedAt: ended == Int64.min ? nil : Timestamp(unixSeconds: ended),
                               endedBy: AgreementFacts.Side(rawValue: by))
        card = CardHash(high: high, low: low)
        institution = Institution(high: iHigh, low: iLow)
    }
}

extension Store {
    // MARK: Agreements

    /// Lends the 16 bytes of an identity (a keyed hash), built on the stack, to `body`.
    static func withIdentity<R>(_ identity: CardHash, _ body: (UnsafeRawBufferPointer) throws(HeadroomError) -> R) throws(HeadroomError) -> R {
        let result: Result<R, HeadroomError> = withUnsafeTemporaryAllocation(byteCount: 16, alignment: 8) { buffer in
            buffer.storeBytes(of: identity.high.bigEndian, toByteOffset: 0, as: UInt64.self)
            buffer.storeBytes(of: identity.low.bigEndian, toByteOffset: 8, as: UInt64.self)
            return Result { () throws(HeadroomError) in try body(UnsafeRawBufferPointer(buffer)) }
        }
        return try result.get()
    }

    func agreement(_ txn: borrowing StoreTransaction, _ identity: CardHash) throws(HeadroomError) -> AgreementRecord? {
        let found = try Store.withIdentity(identity) { (k) throws(HeadroomError) in try txn.get(.agreements, key: k) }
        guard let found else { return nil }
        guard let record = AgreementRecord(bytes: found) else {
            throw HeadroomError(.corrupted, "an agreement record of \(found.count) bytes does not decode")
        }
        return record
    }

    func putAgreement(_ txn: borrowing StoreTransaction, _ identity: CardHash, _ record: AgreementRecord) throws(HeadroomError) {
        try Store.withIdentity(identity) { (k) throws(HeadroomError) in
            try withBytes(record.encoded()) { (v) throws(HeadroomError) in try txn.put(.agreements, key: k, value: v) }
        }
    }

    // MARK: Lists

    /// What a key of the lists table names after the list's name and a zero byte.
    enum ListKeyPart: UInt8 {
        case entry = 1
        case pendingRemoval = 2
    }

    static func listHeaderKey(_ name: String) -> [UInt8] { Array(name.utf8) + [0] }

    static func listKey(_ name: String, _ part: ListKeyPart, _ identity: CardHash) -> [UInt8] {
        withListKey(name, part, identity) { Array($0) }
    }

    /// Lends the key of `identity` in list `name` (name + 0 + part + identity), built on the
    /// stack, to `body`.
    static func withListKey<R, E: Error>(_ name: String, _ part: ListKeyPart, _ identity: CardHash,
                                         _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        var name = name
        let result: Result<R, E> = name.withUTF8 { nameBytes in
            withUnsafeTemporaryAllocation(byteCount: nameBytes.count + 18, alignment: 8) { buffer in
                UnsafeMutableRawBufferPointer(rebasing: buffer[0..<nameBytes.count]).copyMemory(from: UnsafeRawBufferPointer(nameBytes))
                buffer[nameBytes.count] = 0
                buffer[nameBytes.count + 1] = part.rawValue
                buffer.storeBytes(of: identity.high.bigEndian, toByteOffset: nameBytes.count + 2, as: UInt64.self)
                buffer.storeBytes(of: identity.low.bigEndian, toByteOffset: nameBytes.count + 10, as: UInt64.self)
                return Result { () throws(E) in try body(UnsafeRawBufferPointer(buffer)) }
            }
        }
        return try result.get()
    }

    /// Whether `identity` is an entry of list `name`: one read, the key built on the stack.
    func listContains(_ txn: borrowing StoreTransaction, _ name: String, _ identity: CardHash) throws(HeadroomError) -> Bool {
        try Store.withListKey(name, .entry, identity) { (k) throws(HeadroomError) in try txn.get(.lists, key: k) != nil }
    }
}
