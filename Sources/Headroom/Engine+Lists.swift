import HeadroomCore

/// One entry of a risk list, as an operator names it.
public enum ListEntry: Sendable {
    /// A card (stored as its keyed hash, shown masked).
    case card(CardNumber)
    /// An agreement id (stored as its keyed hash).
    case agreement(String)
    /// A merchant id (stored as its keyed hash).
    case merchant(String)
    /// A payment institution.
    case institution(Institution)

    /// The payment field the entry matches.
    public var field: ListField {
        switch self {
        case .card: .card
        case .agreement: .agreement
        case .merchant: .merchant
        case .institution: .institution
        }
    }

    /// What operators see of it: a card masked, anything else as written.
    public var display: String {
        switch self {
        case .card(let card): card.masked
        case .agreement(let id), .merchant(let id): id
        case .institution(let institution): institution.code
        }
    }

    /// Reads an entry of a list of `field` as an operator writes it.
    /// - Throws: `invalidInput` naming what is wrong (never echoing a card number).
    public static func parse(_ text: String, as field: ListField) throws(HeadroomError) -> ListEntry {
        switch field {
        case .card:
            do {
                return .card(try CardNumber(text))
            } catch {
                throw HeadroomError(.invalidInput, "not a card number: \(error)")
            }
        case .agreement, .merchant:
            guard (1...64).contains(text.utf8.count) else {
                throw HeadroomError(.invalidInput, "\(field.name) id \"\(text)\": must be 1 to 64 characters")
            }
            return field == .agreement ? .agreement(text) : .merchant(text)
        case .institution:
            do {
                return .institution(try Institution(text))
            } catch {
                throw HeadroomError(.invalidInput, "not an institution code: \(error)")
            }
        }
    }

    func identity(_ key: CardKey) -> CardHash {
        switch self {
        case .card(let card): key.hash(card)
        case .agreement(let id): key.hash(id, domain: "agreement")
        case .merchant(let id): key.hash(id, domain: "merchant")
        case .institution(let institution): CardHash(high: institution.high, low: institution.low)
        }
    }
}

/// An entry on a list, as the store keeps it.
public struct ListedEntry: Sendable, Equatable {
    /// The entry as operators see it (a card masked).
    public let display: String
    /// Who added it, and when (unix seconds).
    public let addedBy: String
    /// When it was added.
    public let addedAt: Int64
    /// Who asked to take it off, when a removal awaits a second operator's approval.
    public let removalRequestedBy: String?
}

/// A list and what it holds.
public struct ListSummary: Sendable, Equatable {
    /// Its name.
    public let name: String
    /// The payment field its entries match.
    public let field: ListField
    /// Its entries, in the store's order (by keyed hash, not by when they were added).
    public let entries: [ListedEntry]
}

extension Engine {
    /// Adds entries to list `name` (created, matching `entries`' field, when it does not exist):
    /// in force for the next payment. One operator suffices (a stolen card cannot wait).
    /// - Returns: how many were added (entries already on the list are left as they are).
    /// - Throws: `invalidInput` for a bad name or no entries, `listKindMismatch` for an entry
    ///   of another field than the list's, `operatorRequired`.
    @discardableResult
    public func addToList(_ name: String, _ entries: [ListEntry], by operatorName: String) throws(HeadroomError) -> Int {
        try ruleBook.requireName(operatorName)
        try Self.requireListName(name)
        guard let field = entries.first?.field else { throw HeadroomError(.invalidInput, "no entries to add to \(name)") }
        return try write { (txn) throws(HeadroomError) -> Int in
            let listField = try listField(txn, name) ?? field
            if let other = entries.first(where: { $0.field != listField }) {
                throw HeadroomError(.listKindMismatch, "\(name) is a list of \(listField.name)s; \(other.display) is a \(other.field.name)")
            }
            try txn.put(.lists, key: Store.listHeaderKey(name), value: [1, listField.rawValue])
            var added = 0
            for entry in entries {
                let key = Store.listKey(name, .entry, entry.identity(cardKey))
                if try txn.get(.lists, key: key) != nil { continue }
                var w = ByteWriter()
                w.u8(1)
                w.i64(options.clock())
                w.string(operatorName)
                w.string(entry.display)
                try txn.put(.lists, key: key, value: w.bytes)
                try AuditLog.append(store, txn, time: options.clock(), operatorName: operatorName, action: "list.add",
                                    detail: "\(name): \(entry.display) added")
                added += 1
            }
            return added
        }
    }

    /// Asks to take an entry off list `name`: it stays in force until another operator approves
    /// (``approveListRemoval(_:_:by:)``), under dual control like rule sets.
    /// - Throws: `unknownListEntry` when it is not on the list.
    public func requestListRemoval(_ name: String, _ entry: ListEntry, by operatorName: String) throws(HeadroomError) {
        try ruleBook.requireName(operatorName)
        try Self.requireListName(name)
        try write { (txn) throws(HeadroomError) in
            let identity = entry.identity(cardKey)
            guard try txn.get(.lists, key: Store.listKey(name, .entry, identity)) != nil else {
                throw HeadroomError(.unknownListEntry, "\(entry.display) is not on the list \(name)")
            }
            var w = ByteWriter()
            w.u8(1)
            w.i64(options.clock())
            w.string(operatorName)
            try txn.put(.lists, key: Store.listKey(name, .pendingRemoval, identity), value: w.bytes)
            try AuditLog.append(store, txn, time: options.clock(), operatorName: operatorName, action: "list.remove",
                                detail: "\(name): removal of \(entry.display) requested; in force until another operator approves")
        }
    }

    /// Takes an entry off list `name`, approving another operator's request.
    /// - Throws: `unknownListEntry` when no removal of it awaits approval, `sameOperator` when
    ///   the approver asked for it (the refusal is in the audit log too).
    public func approveListRemoval(_ name: String, _ entry: ListEntry, by operatorName: String) throws(HeadroomError) {
        try ruleBook.requireName(operatorName)
        try Self.requireListName(name)
        let identity = entry.identity(cardKey)
        do throws(HeadroomError) {
            try write { (txn) throws(HeadroomError) in
                guard let pending = try txn.get(.lists, key: Store.listKey(name, .pendingRemoval, identity)) else {
                    throw HeadroomError(.unknownListEntry, "no removal of \(entry.display) from \(name) awaits approval: request it first (headroom list remove)")
                }
                var r = ByteReader(pending)
                guard r.u8() == 1, r.i64() != nil, let requester = r.string() else {
                    throw HeadroomError(.corrupted, "a pending list removal does not decode")
                }
                guard requester != operatorName else {
                    throw HeadroomError(.sameOperator, "\(operatorName) asked to remove \(entry.display) from \(name) and cannot approve it: another operator must (dual control)")
                }
                _ = try txn.delete(.lists, key: Store.listKey(name, .pendingRemoval, identity))
                _ = try txn.delete(.lists, key: Store.listKey(name, .entry, identity))
                try AuditLog.append(store, txn, time: options.clock(), operatorName: operatorName, action: "list.approve-removal",
                                    detail: "\(name): \(entry.display) removed (requested by \(requester))")
            }
        } catch where error.code == .sameOperator {
            try write { (txn) throws(HeadroomError) in
                try AuditLog.append(store, txn, time: options.clock(), operatorName: operatorName, action: "list.approve-removal.refused",
                                    detail: "\(name): \(error.message)")
            }
            throw error
        }
    }

    /// Every list, with its entries.
    public func lists() throws(HeadroomError) -> [ListSummary] {
        let txn = try store.beginRead()
        var names: [(String, ListField)] = []
        try txn.scan(.lists) { (key, value) throws(HeadroomError) in
            if key.last == 0, value.count == 2, let field = ListField(rawValue: value[1]) {
                names.append((String(decoding: key.dropLast(), as: UTF8.self), field))
            }
            return true
        }
        var out: [ListSummary] = []
        for (name, field) in names { out.append(try list(txn, name, field)) }
        return out
    }

    /// List `name` with its entries; `nil` when there is no such list.
    public func list(_ name: String) throws(HeadroomError) -> ListSummary? {
        let txn = try store.beginRead()
        guard let field = try listField(txn, name) else { return nil }
        return try list(txn, name, field)
    }

    private func list(_ txn: borrowing StoreTransaction, _ name: String, _ field: ListField) throws(HeadroomError) -> ListSummary {
        let prefix = Store.listHeaderKey(name)
        var entries: [(identity: [UInt8], entry: ListedEntry)] = []
        var pending: [[UInt8]: String] = [:]
        // One pass: the list's keys are contiguous (its name and a zero byte first), entries
        // before the removals awaiting approval.
        try txn.scan(.lists, from: prefix) { (key, value) throws(HeadroomError) in
            guard key.count == prefix.count + 17, key.starts(with: prefix) else { return key.count <= prefix.count }
            var r = ByteReader(value)
            switch key[prefix.count] {
            case Store.ListKeyPart.entry.rawValue:
                guard r.u8() == 1, let at = r.i64(), let by = r.string(), let display = r.string() else {
                    throw HeadroomError(.corrupted, "an entry of the list \(name) does not decode")
                }
                entries.append((Array(key.suffix(16)), ListedEntry(display: display, addedBy: by, addedAt: at, removalRequestedBy: nil)))
            case Store.ListKeyPart.pendingRemoval.rawValue:
                guard r.u8() == 1, r.i64() != nil, let by = r.string() else {
                    throw HeadroomError(.corrupted, "a pending removal of the list \(name) does not decode")
                }
                pending[Array(key.suffix(16))] = by
            default:
                break
            }
            return true
        }
        return ListSummary(name: name, field: field, entries: entries.map { identity, e in
            ListedEntry(display: e.display, addedBy: e.addedBy, addedAt: e.addedAt, removalRequestedBy: pending[identity])
        })
    }

    func listField(_ txn: borrowing StoreTransaction, _ name: String) throws(HeadroomError) -> ListField? {
        guard let header = try txn.get(.lists, key: Store.listHeaderKey(name)) else { return nil }
        guard header.count == 2, header[0] == 1, let field = ListField(rawValue: header[1]) else {
            throw HeadroomError(.corrupted, "the header of the list \(name) does not decode")
        }
        return field
    }

    static func requireListName(_ name: String) throws(HeadroomError) {
        guard ListName.isValid(name) else {
            throw HeadroomError(.invalidInput, "\"\(name)\" is not a list name: \(ListName.rule)")
        }
    }
}
