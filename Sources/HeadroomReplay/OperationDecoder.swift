import Foundation
import Headroom

/// Why a line is not an operation: the field and what is wrong with it.
public struct EventError: Error, Sendable, CustomStringConvertible {
    public let op: String?
    public let id: String?
    public let field: String?
    public let message: String

    public var description: String {
        field.map { "\($0): \(message)" } ?? message
    }
}

/// Reads JSON Lines operations (the replay codec: docs/replay.md). Every field is checked; unknown fields are refused (a misspelt
/// optional field would otherwise be silently ignored); amounts must be decimal strings.
public enum OperationDecoder {
    static let fieldsByOp: [String: Set<String>] = [
        "authorize": ["op", "id", "time", "card", "institution", "business", "amount", "account_class",
                      "channel", "account_type", "agreement_id", "merchant_id"],
        "confirm": ["op", "id", "time"],
        "release": ["op", "id", "time"],
        "verify": ["op", "id", "time"],
        "sign-agreement": ["op", "agreement_id", "card", "institution", "kind", "time"],
        "end-agreement": ["op", "agreement_id", "by", "time"],
        "refund": ["op", "id", "original", "amount", "time"],
        "set-card-limits": ["op", "card", "institution", "single_amount", "daily_amount", "daily_count", "monthly_amount"],
        "clear-card-limits": ["op", "card", "institution"],
        "reconcile": ["op", "id", "batch", "status", "amount", "time", "institution",
                      "card", "business", "account_class", "channel", "account_type"],
    ]

    /// Decodes one line. `operatorName`: who changes card limits (the account that runs the
    /// replay, never a field of the line); a card-limit line without one is refused.
    public static func decode(_ line: String, operatorName: String? = nil) throws(EventError) -> EngineOperation {
        try decodeLine(line, operatorName: operatorName).operation
    }

    /// A line's operation and the time it states (`nil` for a line without one: a card-limit
    /// line, a confirm or release that gives none). A replay's clock follows these times.
    public struct Line: Sendable {
        public let operation: EngineOperation
        public let time: Timestamp?
    }

    /// ``decode(_:operatorName:)``, with the time the line states.
    public static func decodeLine(_ line: String, operatorName: String? = nil) throws(EventError) -> Line {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(line.utf8), options: [])
        } catch {
            throw EventError(op: nil, id: nil, field: nil, message: "not a JSON object: \(describe(error))")
        }
        guard let fields = object as? [String: Any] else {
            throw EventError(op: nil, id: nil, field: nil, message: "not a JSON object")
        }
        // JSON objects may repeat a key, and the reader keeps the last: "amount" twice could
        // reserve what the sender never meant. Refused, naming the key.
        if let twice = duplicateKey(line) {
            throw EventError(op: fields["op"] as? String, id: fields["id"] as? String, field: twice, message: "appears twice in the line")
        }
        return try decodeLine(fields: fields, operatorName: operatorName)
    }

    /// An operation from its fields, as a JSON line's object holds them (strings for text).
    public static func decode(fields: [String: Any], operatorName: String? = nil) throws(EventError) -> EngineOperation {
        try decodeLine(fields: fields, operatorName: operatorName).operation
    }

    static func decodeLine(fields: [String: Any], operatorName: String?) throws(EventError) -> Line {
        var reader = FieldReader(fields: fields)
        let op = try reader.string("op")
        guard let allowed = fieldsByOp[op] else {
            throw EventError(op: nil, id: nil, field: "op", message: "\"\(op)\" is not one of \(fieldsByOp.keys.sorted().joined(separator: ", "))")
        }
        reader.op = op
        reader.id = fields["id"] as? String
        if let unknown = fields.keys.filter({ !allowed.contains($0) }).sorted().first {
            throw reader.error(unknown, "is not a field of \(op) (it has \(allowed.sorted().joined(separator: ", ")))")
        }
        switch op {
        case "set-card-limits", "clear-card-limits":
            return Line(operation: try cardLimits(op, &reader, operatorName), time: nil)
        case "sign-agreement":
            let signing = AgreementSigning(
                agreementID: try reader.requiredText("agreement_id"),
                card: try reader.parse("card") { (s) throws(CardNumber.ParseError) in try CardNumber(s) },
                institution: try reader.parse("institution") { (s) throws(Institution.ParseError) in try Institution(s) },
                kind: try reader.named("kind", AgreementFacts.Kind.init(name:), AgreementFacts.Kind.allCases.map(\.name)),
                time: try reader.time())
            return Line(operation: .signAgreement(signing), time: signing.time)
        case "end-agreement":
            let ending = AgreementEnding(
                agreementID: try reader.requiredText("agreement_id"),
                by: try reader.named("by", AgreementFacts.Side.init(name:), AgreementFacts.Side.allCases.map(\.name)),
                time: try reader.time())
            return Line(operation: .endAgreement(ending), time: ending.time)
        default:
            break
        }
        let id = try reader.parse("id") { (s) throws(PaymentID.ParseError) in try PaymentID(s) }
        switch op {
        case "confirm", "release", "verify":
            let time = fields["time"] == nil ? nil : try reader.time()
            return Line(operation: op == "confirm" ? .confirm(id) : op == "release" ? .release(id) : .verify(id), time: time)
        case "reconcile":
            let line = try reconcile(id, &reader)
            return Line(operation: .reconcile(line), time: line.time)
        case "refund":
            let request = RefundRequest(
                id: id,
                original: try reader.parse("original") { (s) throws(PaymentID.ParseError) in try PaymentID(s) },
                amount: try reader.amount(),
                time: try reader.time())
            return Line(operation: .refund(request), time: request.time)
        default:
            let request = try authorize(id, &reader)
            return Line(operation: .authorize(request), time: request.time)
        }
    }

    static func authorize(_ id: PaymentID, _ r: inout FieldReader) throws(EventError) -> PaymentRequest {
        PaymentRequest(
            id: id,
            time: try r.time(),
            card: try r.parse("card") { (s) throws(CardNumber.ParseError) in try CardNumber(s) },
            institution: try r.parse("institution") { (s) throws(Institution.ParseError) in try Institution(s) },
            business: try r.named("business", Business.init(name:), Business.allCases.map(\.name)),
            amount: try r.amount(),
            accountClass: try r.named("account_class", AccountClass.init(name:), ["I", "II", "III"]),
            channel: try r.optionalNamed("channel", Channel.init(name:), Channel.allCases.map(\.name)),
            accountType: try r.optionalNamed("account_type", AccountType.init(name:), ["personal", "corporate"]),
            agreementID: try r.optionalText("agreement_id"),
            merchantID: try r.optionalText("merchant_id"))
    }

    /// NetsUnion's final status for one transaction; `card`, `business` and `account_class`
    /// (with `channel` and `account_type` when known) count a payment the bank never saw.
    static func reconcile(_ id: PaymentID, _ r: inout FieldReader) throws(EventError) -> ReconciliationLine {
        let batch = try r.parse("batch") { (s) throws(ReconciliationBatch.ParseError) in try ReconciliationBatch(s) }
        let status = try r.named("status", ReconciliationStatus.init(code:), ReconciliationStatus.allCases.map(\.code))
        let amount = try r.amount()
        let time = try r.time()
        let institution = try r.parse("institution") { (s) throws(Institution.ParseError) in try Institution(s) }
        var unseen: ReconciliationLine.Unseen?
        if r.fields["card"] != nil || r.fields["business"] != nil || r.fields["account_class"] != nil {
            unseen = .init(card: try r.parse("card") { (s) throws(CardNumber.ParseError) in try CardNumber(s) },
                           business: try r.named("business", Business.init(name:), Business.allCases.map(\.name)),
                           accountClass: try r.named("account_class", AccountClass.init(name:), ["I", "II", "III"]),
                           channel: try r.optionalNamed("channel", Channel.init(name:), Channel.allCases.map(\.name)),
                           accountType: try r.optionalNamed("account_type", AccountType.init(name:), ["personal", "corporate"]))
        }
        return ReconciliationLine(id: id, batch: batch, status: status, amount: amount, time: time, institution: institution, unseen: unseen)
    }

    /// A customer's own limits for a card: set (the fields given replace those set before) or
    /// cleared, for all institutions or the one named.
    static func cardLimits(_ op: String, _ r: inout FieldReader, _ operatorName: String?) throws(EventError) -> EngineOperation {
        guard let operatorName else {
            throw EventError(op: op, id: nil, field: nil, message: "card limits are changed by an operator: this replay has none")
        }
        let card = try r.parse("card") { (s) throws(CardNumber.ParseError) in try CardNumber(s) }
        let institution = try r.fields["institution"] == nil ? nil
            : r.parse("institution") { (s) throws(Institution.ParseError) in try Institution(s) }
        guard op == "set-card-limits" else { return .clearCardLimits(card: card, institution: institution, by: operatorName) }
        let limits = CardLimits(singleAmountFenMax: try r.optionalAmount("single_amount"), dailyAmountFenMax: try r.optionalAmount("daily_amount"),
                                monthlyAmountFenMax: try r.optionalAmount("monthly_amount"), dailyCountMax: try r.optionalCount("daily_count"))
        guard limits != CardLimits() else {
            throw EventError(op: op, id: nil, field: nil, message: "a set-card-limits line sets at least one of single_amount, daily_amount, daily_count, monthly_amount")
        }
        return .setCardLimits(CardLimitChange(card: card, institution: institution, limits: limits, by: operatorName))
    }

    /// The first key that the top level of the JSON object `line` (already parsed, so well
    /// formed) holds twice, compared as written.
    static func duplicateKey(_ line: String) -> String? {
        var keys: Set<Substring> = []
        var depth = 0
        var stringStart: String.Index?
        var lastString: Substring?
        var escaped = false
        var index = line.startIndex
        while index < line.endIndex {
            let c = line[index]
            if let start = stringStart {
                if escaped {
                    escaped = false
                } else if c == "\\" {
                    escaped = true
                } else if c == "\"" {
                    lastString = line[line.index(after: start)..<index]
                    stringStart = nil
                }
            } else {
                switch c {
                case "\"": stringStart = index
                case "{", "[": depth += 1; lastString = nil
                case "}", "]": depth -= 1; lastString = nil
                case ":":
                    if depth == 1, let key = lastString, !keys.insert(key).inserted { return String(key) }
                    lastString = nil
                case ",": lastString = nil
                default: break
                }
            }
            index = line.index(after: index)
        }
        return nil
    }

    static func describe(_ error: Error) -> String {
        let text = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
        return text ?? "malformed JSON"
    }
}

/// Typed reads of one event's fields; each failure names the field.
struct FieldReader {
    let fields: [String: Any]
    var op: String?
    var id: String?

    func error(_ field: String, _ message: String) -> EventError {
        EventError(op: op, id: id, field: field, message: message)
    }

    func string(_ field: String) throws(EventError) -> String {
        guard let value = fields[field] else { throw error(field, "is missing") }
        guard let text = value as? String else { throw error(field, "must be a string") }
        return text
    }

    func parse<T, E: Error & CustomStringConvertible>(_ field: String, _ make: (String) throws(E) -> T) throws(EventError) -> T {
        let text = try string(field)
        do {
            return try make(text)
        } catch {
            throw self.error(field, error.description)
        }
    }

    func amount() throws(EventError) -> Amount {
        try parse("amount") { (s) throws(Amount.ParseError) in try Amount(yuan: s) }
    }

    func optionalAmount(_ field: String) throws(EventError) -> Int64? {
        guard fields[field] != nil else { return nil }
        return try parse(field) { (s) throws(Amount.ParseError) in try Amount(yuan: s) }.fen
    }

    func optionalCount(_ field: String) throws(EventError) -> Int64? {
        guard let value = fields[field] else { return nil }
        // JSON's true and false arrive as numbers of type "c"; a count is a whole number.
        guard let number = value as? NSNumber, String(cString: number.objCType) != "c",
              let count = Int64(exactly: number.doubleValue), count >= 0 else {
            throw error(field, "must be a whole number of payments, 0 or more")
        }
        return count
    }

    func time() throws(EventError) -> Timestamp {
        try parse("time") { (s) throws(Timestamp.ParseError) in try Timestamp(iso8601: s) }
    }

    func named<T>(_ field: String, _ make: (String) -> T?, _ allowed: [String]) throws(EventError) -> T {
        let text = try string(field)
        guard let value = make(text) else {
            throw error(field, "\"\(text)\" is not one of \(allowed.joined(separator: ", "))")
        }
        return value
    }

    func optionalNamed<T>(_ field: String, _ make: (String) -> T?, _ allowed: [String]) throws(EventError) -> T? {
        guard fields[field] != nil else { return nil }
        return try named(field, make, allowed)
    }

    func optionalText(_ field: String) throws(EventError) -> String? {
        guard fields[field] != nil else { return nil }
        return try requiredText(field)
    }

    /// An identifier (an agreement or merchant id): 1 to 64 bytes of text.
    func requiredText(_ field: String) throws(EventError) -> String {
        let text = try string(field)
        guard (1...64).contains(text.utf8.count) else { throw error(field, "must be 1 to 64 characters") }
        return text
    }
}
